//! The link against a remote schema shaped like a real application's (issue 10):
//! user-defined types, a few hundred tables, renames, locks held by other
//! sessions, views on the foreign tables, tables the admin cannot grant.
//! Each test builds its own fixture schema on cluster B (see [`fixture`]) and
//! drives the real handler against the local stack.

use fdw_bridge_testkit as harness;

mod dependents;
mod fixture;
mod locks;
mod reasons;
mod reconcile;
mod refresh;
mod types;
mod ungrantable;
