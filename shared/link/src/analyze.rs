//! ANALYZE of the link's foreign tables: a plain ANALYZE skips them, and
//! without row estimates the planner picks bad join plans.

use fdw_bridge_pg::sql::qualified;
use fdw_bridge_pg::PgError;
use tokio_postgres::Client;

/// ANALYZE each foreign table by name, logging progress.
pub async fn analyze(client: &Client, tables: &[(String, String)]) -> Result<(), PgError> {
    for (i, (schema, table)) in tables.iter().enumerate() {
        let started = std::time::Instant::now();
        let sql = format!("ANALYZE {}", qualified(schema, table));
        client
            .batch_execute(&sql)
            .await
            .map_err(|e| PgError::in_statement(&sql, &e))?;
        tracing::info!(table = %format!("{schema}.{table}"), done = i + 1, of = tables.len(), ms = started.elapsed().as_millis() as u64, "analyzed foreign table");
    }
    Ok(())
}
