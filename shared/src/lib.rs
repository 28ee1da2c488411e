//! fdw-bridge's library: everything the three Lambda functions decide and do.
//!
//! Layers, each calling only downward (see ARCHITECTURE.md):
//! [`aws`] and [`pg`] at the bottom; [`link`] (the FDW link: desired state,
//! catalog reads, pure planner, apply) on them; [`bootstrap`], [`report`] and
//! [`rotate`] (one per function) on top, never calling each other. [`retry`] (the
//! one retry policy) and [`deadline`] stand beside [`pg`] for all three.

/// The AWS layer, [`fdw_bridge_aws`].
pub use fdw_bridge_aws as aws;
pub mod bootstrap;
pub mod deadline;
pub mod diagnostic;
mod link;
pub mod logging;
/// The PostgreSQL layer, [`fdw_bridge_pg`].
pub use fdw_bridge_pg as pg;
pub mod report;
pub mod retry;
pub mod rotate;
pub mod settings;
pub mod target;

#[cfg(test)]
mod hostile_input_tests;
