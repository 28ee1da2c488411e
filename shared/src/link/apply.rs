//! Running a plan: all statements of one cluster in one transaction, with the
//! server log kept quiet while a statement carries a password.

use crate::pg_error::PgError;
use crate::sql::{qualified, Statement, QUIET_LOGGING};
use tokio_postgres::Client;

/// Runs `statements` in one transaction under an advisory lock on `lock_key`
/// (two runs for the same link never interleave). Nothing is applied on error.
pub async fn apply_in_transaction(
    client: &mut Client,
    lock_key: &str,
    statements: &[Statement],
) -> Result<(), PgError> {
    if statements.is_empty() {
        return Ok(());
    }
    let tx = client
        .transaction()
        .await
        .map_err(|e| PgError::new("starting a transaction", &e))?;
    tx.execute("SELECT pg_advisory_xact_lock(hashtext($1))", &[&lock_key])
        .await
        .map_err(|e| PgError::new("taking the link's advisory lock", &e))?;
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
    tx.commit().await.map_err(|e| PgError::new("committing", &e))
}

/// ANALYZE each foreign table (a plain ANALYZE skips them), so the planner
/// has row estimates and does not pick bad join plans.
pub async fn analyze(client: &Client, tables: &[(String, String)]) -> Result<(), PgError> {
    for (i, (schema, table)) in tables.iter().enumerate() {
        let started = std::time::Instant::now();
        let sql = format!("ANALYZE {}", qualified(schema, table));
        client.batch_execute(&sql).await.map_err(|e| PgError::new(&sql, &e))?;
        tracing::info!(table = %format!("{schema}.{table}"), done = i + 1, of = tables.len(), ms = started.elapsed().as_millis() as u64, "analyzed foreign table");
    }
    Ok(())
}
