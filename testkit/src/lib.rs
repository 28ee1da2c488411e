//! Test harness: the local stack (PostgreSQL clusters with TLS, moto's
//! server, the ResponseURL listener) as the tests see it, read from the env
//! file that `stack/stack.sh up` writes. Nothing here is faked: requests go
//! through the real handler, the real AWS SDK and real TLS sessions.
//!
//! [`Stack::get`] holds one value per part the stack stands up, each with its own methods:
//! - `stack.clusters` ([`Clusters`]): the PostgreSQL clusters A, B, C and B's replica:
//!   ports, superuser and login sessions (`clusters`), stopping and restarting them (`outage`);
//! - `stack.aws` ([`Aws`]): moto's Secrets Manager and RDS: secrets (`secrets`),
//!   starting rotations as Secrets Manager does (`rotation`);
//! - `stack.functions` ([`Functions`]): a function's own binary run as Lambda runs it,
//!   against a loopback Runtime API, to be killed mid-step (`lambda_process`), and the
//!   function's log captured the way Lambda would print it (`function_log`).
//!
//! What needs more than one part is a method of [`Stack`] itself: the env file
//! (`stack.var`), the shared and exclusive turns on the stack (`outage`), fdw-bootstrap's
//! real handler driven with CloudFormation requests and answered through the stack's
//! ResponseURL listener (`invocation`), links made and removed through it (`link`),
//! a link's FDW and rotation secrets and fdw-rotate's handler (`secrets`, `rotation`),
//! and no password in the function's log or any server's log (`leak_watch`).
//!
//! Besides: `request_gate` (a forwarder to moto that holds the request after a given
//! call: a kill point), `names` (names no other test uses), `own_database` (a database
//! of a test's own on cluster A), `delay_proxy` (a TCP proxy that adds latency between
//! the clusters, for benchmarks, and cuts connections mid-stream, for fault tests).

mod aws;
mod clusters;
pub mod delay_proxy;
mod env;
mod function_log;
mod functions;
mod invocation;
mod lambda_process;
mod leak_watch;
mod link;
mod manifest;
mod names;
mod outage;
mod own_database;
pub mod request_gate;
mod rotation;
mod secrets;
mod stack;

pub use aws::Aws;
pub use clusters::Clusters;
pub use function_log::captured_log;
pub use functions::Functions;
pub use invocation::Invocation;
pub use lambda_process::{retries_logged, DeadlineHeader, FunctionProcess};
pub use leak_watch::{remember_secret, LeakWatch};
pub use link::{assert_link_gone, TestLink};
pub use manifest::workspace_dependencies;
pub use names::unique;
pub use outage::{outage_length, ClusterOutage, ExclusiveTurn, RestartOnDrop, SettingOnDrop, SharedTurn};
pub use own_database::OwnDatabase;
pub use stack::Stack;
