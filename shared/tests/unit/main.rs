//! The facade's stackless tests of the public surface, one binary (`make unit`
//! runs it with the crates' inline unit tests): architecture (the crate graph
//! against ARCHITECTURE.md) and hostile input (every decoder of outside data).

// Test code: a failed step panics with its message, which fails the test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod architecture;
mod hostile_input;
