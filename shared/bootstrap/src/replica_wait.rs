//! A link that reads from the remote cluster's readers imports and analyzes
//! through them moments after the writer took the FDW role's changes (Aurora
//! replicas, like streaming replicas, apply them after a lag). So before the
//! local side runs, wait until a reader has them: the FDW login connects there
//! with its password and may SELECT every exposed table.

use fdw_bridge_link::plan::ExposedTable;
use fdw_bridge_pg::Endpoint;
use fdw_bridge_pg::{ConnectTarget, Connector, REPLICA_WAIT};
use std::time::Duration;
use tokio::time::Instant;

const POLL: Duration = Duration::from_millis(100);

#[derive(Debug, thiserror::Error)]
#[error(
    "remote cluster's reader endpoint {endpoint}: the FDW role's changes made on the writer did not reach the reader \
     within {secs} s (last seen: {last}). The readers lag or are unreachable: check the replica lag \
     (CloudWatch AuroraReplicaLag) and that the reader endpoint answers, then retry; or set RemoteCluster.ReadFrom: Writer"
)]
pub struct ReplicaWaitError {
    pub endpoint: String,
    pub secs: u64,
    pub last: String,
}

/// Not-yet-visible tables among `tables`, as the session's role sees them.
const UNREADABLE_SQL: &str = "SELECT count(*) FROM unnest($1::text[], $2::text[]) AS t(s, n) \
     WHERE to_regclass(format('%I.%I', s, n)) IS NULL \
        OR NOT has_table_privilege(to_regclass(format('%I.%I', s, n)), 'SELECT')";

/// Waits until the reader endpoint lets `fdw_login` in and shows it SELECT on
/// every table in `tables`; gives up after `REPLICA_WAIT`.
pub async fn wait_for_reader(
    connector: &Connector,
    fdw_login: &ConnectTarget,
    reader: &Endpoint,
    tables: &[ExposedTable],
) -> Result<(), ReplicaWaitError> {
    let mut target = fdw_login.clone();
    target.endpoint = reader.clone();
    target.label = format!("remote cluster's reader endpoint as the FDW role ({})", fdw_login.label);
    let schemas: Vec<&str> = tables.iter().map(|t| t.remote_schema.as_str()).collect();
    let names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
    let started = Instant::now();
    let give_up = started + REPLICA_WAIT;
    let mut polls = 0u32;
    loop {
        polls += 1;
        let last = match connector.connect(&target).await {
            Ok(client) => match client.query_one(UNREADABLE_SQL, &[&schemas, &names]).await {
                Ok(row) if row.get::<_, i64>(0) == 0 => {
                    tracing::info!(reader = %reader, polls, ms = started.elapsed().as_millis() as u64, "the remote cluster's reader has the FDW role's changes");
                    return Ok(());
                }
                Ok(row) => format!(
                    "{} of {} exposed tables not yet readable by the FDW role",
                    row.get::<_, i64>(0),
                    tables.len()
                ),
                Err(e) => format!("checking the grants: {e}"),
            },
            // A role or password the reader has not replayed yet is refused like a wrong one,
            // so a refused login is waited out like any other.
            Err(e) => e.to_string(),
        };
        if Instant::now() + POLL >= give_up {
            return Err(ReplicaWaitError {
                endpoint: reader.to_string(),
                secs: started.elapsed().as_secs(),
                last,
            });
        }
        tokio::time::sleep(POLL).await;
    }
}
