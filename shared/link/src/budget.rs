//! What the remote cluster can hold now, read on its own: the connections
//! ordinary roles may open (max_connections less superuser_reserved_connections
//! and, from PostgreSQL 16, reserved_connections), when the server started, and
//! the FDW role's and its clone's CONNECTION LIMIT. max_connections changes only
//! at a restart (on Aurora: a new instance class, or a Serverless v2 maximum
//! capacity), so a start time later than the last refresh's says the budget may
//! no longer fit.

use super::inspect::read_role;
use super::spec::LinkSpec;
use super::state::RoleState;
use fdw_bridge_pg::role::{clone_role_name, ORDINARY_SLOTS_SQL};
use fdw_bridge_pg::PgError;
use tokio_postgres::Client;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteCapacity {
    /// Connections ordinary roles may open on the remote cluster.
    pub connection_budget: u32,
    /// `pg_postmaster_start_time()`, as text (the log shows it).
    pub started_at: String,
    pub fdw_role: Option<RoleState>,
    pub clone_role: Option<RoleState>,
}

/// Reads the remote cluster's capacity and the link's two roles.
pub async fn read_capacity(client: &Client, spec: &LinkSpec) -> Result<RemoteCapacity, PgError> {
    let sql = format!("SELECT {ORDINARY_SLOTS_SQL}, pg_postmaster_start_time()::text");
    let row = client
        .query_one(&sql, &[])
        .await
        .map_err(|e| PgError::new("reading the remote cluster's connection settings", &e))?;
    Ok(RemoteCapacity {
        connection_budget: u32::try_from(row.get::<_, i32>(0)).unwrap_or(0),
        started_at: row.get(1),
        fdw_role: read_role(client, &spec.fdw_user).await?,
        clone_role: read_role(client, &clone_role_name(&spec.fdw_user)).await?,
    })
}
