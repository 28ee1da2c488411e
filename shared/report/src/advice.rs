//! The pushdown check's advice: the report's plan handed to
//! `fdw_bridge.advise_plan` on cluster A (installed by the link), with the
//! report's row threshold. A cluster whose link predates the advice (or a
//! reader without EXECUTE on it) gets no flags and a warning, not a failed report.
//! The function and its privileges are looked up first: an error inside the
//! report's read-only transaction would abort it.

use super::pushdown::AdviceRow;
use fdw_bridge_pg::PgError;
use serde_json::Value;

const ADVISE_PLAN: &str = "SELECT scan, crosses, pattern, cause, rewrite
                             FROM fdw_bridge.advise_plan($1::jsonb, $2::text, false, $3::bigint)
                            WHERE pattern <> 'none'";

/// Whether this session may call the advice (asked first: an error would abort the report's transaction).
const AVAILABLE: &str = "SELECT CASE WHEN p IS NULL THEN false
                                     ELSE has_schema_privilege('fdw_bridge', 'USAGE') AND has_function_privilege(p, 'EXECUTE') END
                           FROM to_regprocedure('fdw_bridge.advise_plan(jsonb, text, boolean, bigint)') p";

/// The causes the advice finds in `plan` (of `sql`), for scans that bring more than `threshold` rows.
pub(super) async fn advise(
    tx: &tokio_postgres::Transaction<'_>,
    plan: &Value,
    sql: &str,
    threshold: f64,
) -> Result<Vec<AdviceRow>, PgError> {
    let available: bool = tx
        .query_one(AVAILABLE, &[])
        .await
        .map_err(|e| PgError::new("looking for fdw_bridge.advise_plan on cluster A", &e))?
        .get(0);
    if !available {
        tracing::warn!("the pushdown check has no advice: fdw_bridge.advise_plan is missing on cluster A or not granted to the reader; an Update of the link (or its hourly refresh) installs and grants it");
        return Ok(Vec::new());
    }
    // Rows are whole: the threshold's fraction does not matter.
    let min_rows = threshold as i64;
    let rows = tx
        .query(ADVISE_PLAN, &[plan, &sql, &min_rows])
        .await
        .map_err(|e| PgError::new("fdw_bridge.advise_plan of the report's plan", &e))?;
    Ok(rows
        .iter()
        .map(|r| AdviceRow {
            scan: r.get(0),
            crosses: r.get(1),
            pattern: r.get(2),
            cause: r.get(3),
            rewrite: r.get(4),
        })
        .collect())
}
