//! The refresh's first pass: each link's budget on the remote cluster (its FDW
//! role's CONNECTION LIMIT) re-derived from what the cluster holds now and
//! applied on its own, before any link's slower work (IMPORT, ANALYZE) runs or
//! fails. B resized after Create (a restart with another max_connections,
//! superuser_reserved_connections or reserved_connections) otherwise keeps a
//! budget sized for the old B, which no longer protects B's own slots.

use super::resolve::ResolvedLink;
use fdw_bridge_link::budget::read_capacity;
use fdw_bridge_link::plan::plan_connection_limits;
use fdw_bridge_pg::{apply_in_transaction, ConnectError, Connector, PgError};

/// What the pass found, and did, for one link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BudgetCheck {
    /// Connections ordinary roles may open on the remote cluster now.
    pub connection_budget: u32,
    /// When the remote cluster's server started (pg_postmaster_start_time).
    pub started_at: String,
    /// The CONNECTION LIMIT statements applied (or, in a dry run, planned).
    pub statements: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum BudgetError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("remote cluster: {0}")]
    Sql(#[from] PgError),
}

/// Reads the remote cluster's capacity and aligns the link's roles' limits
/// with it (in one transaction under fdw-bridge's lock on the cluster, as
/// every change); `apply: false` only plans.
pub async fn align_budget(connector: &Connector, link: &ResolvedLink, apply: bool) -> Result<BudgetCheck, BudgetError> {
    let mut client = connector.connect(&link.remote_admin).await?;
    let capacity = read_capacity(&client, &link.spec).await?;
    let statements = plan_connection_limits(
        &link.spec,
        capacity.connection_budget,
        capacity.fdw_role.as_ref(),
        capacity.clone_role.as_ref(),
    );
    if apply {
        apply_in_transaction(&mut client, &statements).await?;
    }
    Ok(BudgetCheck {
        connection_budget: capacity.connection_budget,
        started_at: capacity.started_at,
        statements: statements.iter().map(|s| s.shown().to_string()).collect(),
    })
}
