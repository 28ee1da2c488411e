//! fdw-bridge's library under one name: the layer crates, re-exported where
//! the functions, the test kit and the bench have always found them. Each
//! layer is a crate of its own (see ARCHITECTURE.md), so that a call upward
//! cannot compile:
//!
//! - [`pg`] ([`fdw_bridge_pg`]) at the bottom, [`aws`] ([`fdw_bridge_aws`]) on it;
//! - the FDW link (`fdw-bridge-link`: desired state, catalog reads, pure
//!   planner) on [`pg`];
//! - the Lambda runtime kit ([`fdw_bridge_runtime`]: [`deadline`], [`retry`],
//!   [`target`], [`diagnostic`], [`emf`], [`logging`], [`settings`]) on [`pg`]
//!   and [`aws`];
//! - [`bootstrap`], [`report`] and [`rotate`] (one per function) on top, never
//!   calling each other.

pub use fdw_bridge_aws as aws;
pub use fdw_bridge_bootstrap as bootstrap;
pub use fdw_bridge_pg as pg;
pub use fdw_bridge_report as report;
pub use fdw_bridge_rotate as rotate;
pub use fdw_bridge_runtime::{deadline, diagnostic, emf, logging, retry, settings, target};

#[cfg(test)]
mod architecture_tests;
#[cfg(test)]
mod hostile_input_tests;
