//! The one retry policy of all three functions: a session or statement that
//! failed for a reason that passes by itself (a cluster out of connection
//! slots, a cluster restarting or failing over, a writer that was just
//! demoted) is tried again with jittered exponential backoff while the
//! invocation has time left; anything else fails at once.
//!
//! Aurora fails a cluster over when it detects a problem with the writer, and
//! on `FailoverDBCluster`: a reader takes over, the cluster endpoint moves to
//! it, and open connections drop until it answers (Aurora User Guide, "High
//! availability for Amazon Aurora":
//! https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Concepts.AuroraHighAvailability.html;
//! "Cluster endpoints":
//! https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Aurora.Endpoints.Cluster.html).
//! The old writer restarts read-only; a client whose DNS answer for the
//! endpoint is stale (its TTL is 5 s) lands there and gets SQLSTATE 25006
//! (https://repost.aws/knowledge-center/aurora-mysql-db-cluser-read-only-error).
//!
//! [`class`] decides what is worth another attempt (pure), [`backoff`] how
//! long to wait (pure), [`attempts`] keeps the count, the clock and the log.

mod attempts;
mod backoff;
mod class;

pub use attempts::{last_attempt_start, retry, Outage, Retrier};
pub use backoff::{delay, equal_jitter, random, step};
pub use class::{of_connect, of_pg, of_text, Retryable, Transient};
