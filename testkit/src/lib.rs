//! Test harness: the local stack (two PostgreSQL clusters with TLS, moto's
//! server, the ResponseURL listener) as the tests see it, read from the env
//! file that `stack/stack.sh up` writes. Nothing here is faked: requests go
//! through the real handler, the real AWS SDK and real TLS sessions.
//!
//! One idea per module:
//! - `stack`: the env file, sessions on the clusters (superuser and login roles),
//!   and the one process-wide value holding everything a test binary shares;
//! - `outage`: shared and exclusive turns on the stack, stopping and restarting a cluster;
//! - `secrets`: secrets in moto's Secrets Manager;
//! - `invocation`: fdw-bootstrap's real handler driven with CloudFormation requests,
//!   answered through the stack's ResponseURL listener;
//! - `link`: links made and removed through that handler, and the check that nothing is left;
//! - `rotation`: starting rotations as Secrets Manager does, and fdw-rotate's handler;
//! - `lambda_process`: a function's own binary run as Lambda runs it, to be killed mid-step;
//! - `function_log`: the function's log, captured the way Lambda would print it;
//! - `leak_watch`: no password in the function's log or either server's log;
//! - `request_gate`: a forwarder to moto that holds the request after a given call (a kill point);
//! - `names`: names no other test uses;
//! - `own_database`: a database of a test's own on cluster A;
//! - `delay_proxy`: a TCP proxy that adds latency between the clusters (benchmarks)
//!   and cuts connections mid-stream (fault tests).

pub mod delay_proxy;
mod function_log;
mod invocation;
mod lambda_process;
mod leak_watch;
mod link;
mod names;
mod outage;
mod own_database;
pub mod request_gate;
mod rotation;
mod secrets;
mod stack;

pub use function_log::captured_log;
pub use invocation::Invocation;
pub use lambda_process::{retries_logged, DeadlineHeader, FunctionProcess};
pub use leak_watch::{remember_secret, LeakWatch};
pub use link::{assert_link_gone, TestLink};
pub use names::unique;
pub use outage::{outage_length, ClusterOutage, ExclusiveTurn, RestartOnDrop, SettingOnDrop, SharedTurn};
pub use own_database::OwnDatabase;
pub use stack::Stack;
