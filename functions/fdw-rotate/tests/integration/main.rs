//! fdw-rotate's integration tests, one binary (each binary links the whole AWS
//! SDK). Tests run on parallel threads: ordinary ones take a shared turn on the
//! stack, rotation_cluster_b_down and failover (they stop cluster B) and killed_mid_step (it
//! holds fdw-bridge's lock and a catalog lock) an exclusive one.

// Test code: a failed step panics with its message, which fails the test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bootstrap_after_rotation;
mod common;
mod error_types;
mod failover;
mod killed_mid_step;
mod rotation;
mod rotation_abandoned;
mod rotation_cluster_b_down;
