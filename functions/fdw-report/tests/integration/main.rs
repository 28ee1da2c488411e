//! fdw-report's integration tests, one binary (each binary links the whole AWS
//! SDK). Tests run on parallel threads: ordinary ones take a shared turn on the
//! stack, remote_down (it stops cluster B), failover (it stops B, then A, and
//! restarts A read-only), max_connections and
//! through_runtime's burst (they restart B),
//! writer_refused (it limits the writer role) and report_roles
//! (it hands fdw_reports to the link) an exclusive one.

// Test code: a failed step panics with its message, which fails the test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod across_links;
mod common;
mod connection_cut;
mod connection_release;
mod connection_squeeze;
mod error_types;
mod failover;
mod max_connections;
mod pushdown_advice;
mod pushdown_plans;
mod remote_down;
mod report_roles;
mod reports;
mod through_runtime;
mod versions;
mod writer_refused;
