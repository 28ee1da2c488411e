//! fdw-bridge's library: everything the three Lambda functions decide and do.
//!
//! Layers, each calling only downward (see ARCHITECTURE.md):
//! [`aws`] and [`pg`] at the bottom; [`link`] (the FDW link: desired state,
//! catalog reads, pure planner, apply) on them; [`bootstrap`], [`report`] and
//! [`rotate`] (one per function) on top, never calling each other. [`retry`] (the
//! one retry policy) and [`deadline`] stand beside [`pg`] for all three.

/// The AWS layer, [`fdw_bridge_aws`].
pub use fdw_bridge_aws as aws;
/// The Lambda runtime kit, [`fdw_bridge_runtime`].
pub use fdw_bridge_runtime::{deadline, diagnostic, emf, logging, retry, settings, target};
pub mod bootstrap;
use fdw_bridge_link as link;
/// The PostgreSQL layer, [`fdw_bridge_pg`].
pub use fdw_bridge_pg as pg;
pub mod report;
pub mod rotate;

#[cfg(test)]
mod hostile_input_tests;
