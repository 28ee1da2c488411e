//! Waiting for a replica: a role or password set on a cluster's writer reaches
//! its readers (Aurora Replicas, streaming replicas) after a lag. Whatever is
//! about to log in on a reader with new credentials waits here until it can.

use super::connect::Connector;
use super::probe::probe_login;
use super::target::ConnectTarget;
use std::time::Duration;
use tokio::time::Instant;

/// How long a reader may lag before the wait gives up. Aurora's lag is usually
/// well under 100 ms; half a minute of it means a reader is unwell.
pub const REPLICA_WAIT: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(100);

#[derive(Debug, thiserror::Error)]
#[error(
    "{label}: {user}'s new password set on the writer did not reach the reader at {endpoint} within {secs} s \
     ({last}). The readers lag or are unreachable: check the replica lag (CloudWatch AuroraReplicaLag) and \
     that the reader endpoint answers, then retry"
)]
pub struct ReplicaLag {
    pub label: String,
    pub user: String,
    pub endpoint: String,
    pub secs: u64,
    pub last: String,
}

/// Waits until `target` (a reader endpoint) lets its user in with its password.
pub async fn wait_for_login(connector: &Connector, target: &ConnectTarget) -> Result<(), ReplicaLag> {
    let started = Instant::now();
    loop {
        let last = match probe_login(connector, target).await {
            Ok(login) if login.password_works() => {
                tracing::info!(reader = %target.endpoint, user = %target.user, ms = started.elapsed().as_millis() as u64, "the reader has the new password");
                return Ok(());
            }
            Ok(_) => "the login is still refused there".to_string(),
            Err(e) => e.to_string(),
        };
        if started.elapsed() + POLL >= REPLICA_WAIT {
            return Err(ReplicaLag {
                label: target.label.clone(),
                user: target.user.clone(),
                endpoint: target.endpoint.to_string(),
                secs: started.elapsed().as_secs(),
                last,
            });
        }
        tokio::time::sleep(POLL).await;
    }
}
