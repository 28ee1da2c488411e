//! fdw-bootstrap's integration tests, one binary (each binary links the whole
//! AWS SDK). The stack tests take a shared turn ([`fdw_bridge_testkit::Stack::shared`]);
//! remote_ca (it changes cluster A's ssl_ca_file), budget_follows_b (it restarts
//! cluster B smaller), import_interrupted and failover (they stop
//! cluster B) and real_schemas::locks (it
//! holds locks on purpose) an exclusive one; the template
//! agreement test needs no stack.

// Test code: a failed step panics with its message, which fails the test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod advice;
mod b_readers;
mod bad_input;
mod budget_follows_b;
mod concurrent_links;
mod error_types;
mod failover;
mod import_interrupted;
mod killed_process;
mod lifecycle;
mod prerequisites;
mod real_schemas;
mod remote_ca;
mod replica_cleanup;
mod server_defaults;
mod services_down;
mod slow_response_url;
mod template;
mod three_clusters;
mod versions;
