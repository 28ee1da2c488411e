//! The one way fdw-bridge changes a cluster: all statements in one transaction,
//! under the one advisory lock, with the server log kept quiet while a
//! statement carries a password.

use super::error::PgError;
use super::sql::{Statement, QUIET_LOGGING};
use tokio_postgres::{Client, Transaction};

/// One advisory lock for all of fdw-bridge's changes on a cluster (link DDL,
/// rotation, the report store's schema): links that share a database grant on
/// the same catalog rows, and PostgreSQL refuses concurrent GRANTs on one object
/// ("tuple concurrently updated"); a rotation and a stack update never interleave.
pub(crate) const LOCK_KEY: &str = "fdw-bridge";

/// Runs `statements` in one transaction under the advisory lock [`LOCK_KEY`].
/// Nothing is applied on error; nothing is sent when there is nothing to do.
pub(crate) async fn apply_in_transaction(client: &mut Client, statements: &[Statement]) -> Result<(), PgError> {
    if statements.is_empty() {
        return Ok(());
    }
    let tx = prepare_in_transaction(client, statements).await?;
    tx.commit().await.map_err(|e| PgError::new("committing", &e))
}

/// Runs `statements` in a transaction under the advisory lock and leaves it
/// open: the caller commits it (or drops it to roll back), e.g. right after a
/// commit on the other cluster, so that the two commits are one round trip apart.
pub(crate) async fn prepare_in_transaction<'c>(
    client: &'c mut Client,
    statements: &[Statement],
) -> Result<Transaction<'c>, PgError> {
    let tx = client
        .transaction()
        .await
        .map_err(|e| PgError::new("starting a transaction", &e))?;
    tx.execute("SELECT pg_advisory_xact_lock(hashtext($1))", &[&LOCK_KEY])
        .await
        .map_err(|e| PgError::new("taking fdw-bridge's advisory lock", &e))?;
    if statements.iter().any(Statement::carries_secret) {
        for setting in QUIET_LOGGING {
            tx.batch_execute(setting).await.map_err(|e| {
                PgError::new(
                    &format!(
                        "{setting} (needed so that passwords stay out of the server log; on PostgreSQL 15+ \
                         GRANT SET ON PARAMETER to the admin role, Aurora's rds_superuser may already)"
                    ),
                    &e,
                )
            })?;
        }
    }
    for statement in statements {
        tracing::info!(statement = %statement, "applying");
        // Simple query protocol: the text is sent once, never prepared.
        tx.batch_execute(statement.sql())
            .await
            .map_err(|e| PgError::new(statement.shown(), &e))?;
    }
    Ok(tx)
}
