//! The Lambda runtime kit of fdw-bridge's three functions: what every function
//! does the same way, written once.
//!
//! - [`deadline`]: the invocation's deadline from the Runtime API's header;
//! - [`retry`]: the one retry policy, its classification of what passes by
//!   itself ([`retry::Transient`]) and its jittered backoff, bounded by the deadline;
//! - [`target`]: where and as whom to connect, from an explicit endpoint, RDS
//!   and a database secret (one precedence);
//! - [`diagnostic`]: the stable Lambda `errorType` of every failure;
//! - [`emf`]: CloudWatch Embedded Metric Format lines;
//! - [`logging`] and [`settings`]: tracing set up at cold start, and the
//!   settings every function reads there.

pub mod deadline;
pub mod diagnostic;
pub mod emf;
pub mod logging;
pub mod retry;
pub mod settings;
pub mod target;
