//! Which foreign tables to ANALYZE again because their remote table grew or
//! shrank since the last ANALYZE: the planner on the local cluster chooses join
//! orders and remote fetches from these statistics, and nothing refreshes them
//! for a foreign table (autovacuum does not analyze foreign tables).

use super::ExposedTable;
use crate::state::{LocalState, RemoteState};

/// Rows that must change before a table counts as moved, plus a share of its
/// analyzed rows: autovacuum's defaults for local tables
/// (`autovacuum_analyze_threshold` 50, `autovacuum_analyze_scale_factor` 0.1).
pub const MOVED_ROWS_THRESHOLD: f64 = 50.0;
pub const MOVED_ROWS_SHARE: f64 = 0.1;

/// `(local schema, table)` of the link's foreign tables whose remote row count
/// moved past the threshold since their last ANALYZE, or that were never
/// analyzed, leaving out `already` (imported by this run, analyzed anyway).
/// Views have no row count on the remote cluster and are left alone.
pub fn moved_tables(
    exposed: &[ExposedTable],
    remote: &RemoteState,
    local: &LocalState,
    already: &[(String, String)],
) -> Vec<(String, String)> {
    exposed
        .iter()
        .filter(|t| !already.iter().any(|(s, n)| s == &t.local_schema && n == &t.name))
        .filter_map(|t| {
            let now = *remote.row_counts.get(&(t.remote_schema.clone(), t.name.clone()))?;
            let foreign = local.schemas.get(&t.local_schema)?.foreign_tables.get(&t.name)?;
            let moved = match foreign.analyzed_rows {
                None => true,
                Some(then) => (now - then).abs() as f64 > MOVED_ROWS_THRESHOLD + MOVED_ROWS_SHARE * then as f64,
            };
            moved.then(|| (t.local_schema.clone(), t.name.clone()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::fixtures::{col, local_converged};

    fn orders() -> Vec<ExposedTable> {
        vec![ExposedTable {
            remote_schema: "public".into(),
            local_schema: "orders_remote".into(),
            name: "orders".into(),
            columns: vec![col("id", "bigint")],
        }]
    }

    fn remote_with(rows: Option<i64>) -> RemoteState {
        let mut r = RemoteState::default();
        if let Some(n) = rows {
            r.row_counts.insert(("public".into(), "orders".into()), n);
        }
        r
    }

    #[test]
    fn a_table_is_analyzed_again_when_its_rows_moved_past_autovacuums_threshold() {
        // The fixture's foreign table was analyzed at 1000 rows: the threshold is 150.
        let local = local_converged();
        let moved = |rows| moved_tables(&orders(), &remote_with(Some(rows)), &local, &[]);
        assert!(moved(1150).is_empty());
        assert!(moved(850).is_empty());
        assert_eq!(moved(1151), vec![("orders_remote".to_string(), "orders".to_string())]);
        assert_eq!(moved(849).len(), 1);
    }

    #[test]
    fn never_analyzed_tables_are_analyzed_and_views_and_new_imports_are_left_alone() {
        let mut local = local_converged();
        if let Some(ft) = local
            .schemas
            .get_mut("orders_remote")
            .and_then(|s| s.foreign_tables.get_mut("orders"))
        {
            ft.analyzed_rows = None;
        }
        assert_eq!(moved_tables(&orders(), &remote_with(Some(0)), &local, &[]).len(), 1);
        // A view: no row count on the remote cluster.
        assert!(moved_tables(&orders(), &remote_with(None), &local, &[]).is_empty());
        let already = [("orders_remote".to_string(), "orders".to_string())];
        assert!(moved_tables(&orders(), &remote_with(Some(0)), &local, &already).is_empty());
    }
}
