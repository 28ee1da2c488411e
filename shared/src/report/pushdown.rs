//! The pushdown check: from a report's `EXPLAIN (VERBOSE, FORMAT JSON)`, the
//! `Remote SQL` of every foreign scan, and a flag on each scan that fetches a
//! whole remote table (no remote WHERE, no remote aggregate or GROUP BY) over
//! more than a threshold of estimated rows: the filter or aggregate that could
//! have run on the remote cluster runs locally, after the whole table crossed
//! the link (e.g. a window written with `now()`, which postgres_fdw never ships).

use super::fix::{self, Fix, Position};
use serde_json::Value;

/// Default threshold of estimated rows for a whole-table fetch (FDW_REPORT_PUSHDOWN_ROWS).
pub const DEFAULT_ROWS_THRESHOLD: f64 = 5000.0;

#[derive(Clone, Debug, PartialEq)]
pub struct ForeignScan {
    /// What postgres_fdw sends to the remote cluster.
    pub remote_sql: String,
    /// The planner's estimate of rows this scan returns.
    pub rows: f64,
    /// `schema.table`, or postgres_fdw's "Relations" text for a pushed-down join or aggregate.
    pub relation: String,
    /// The local schema and name of the foreign table, for a scan of one table.
    pub table: Option<(String, String)>,
    /// The foreign table's row count as ANALYZE saw it (`pg_class.reltuples`),
    /// when known: what a whole-table fetch brings across, whatever is
    /// filtered locally afterwards ("Plan Rows" counts only what survives).
    pub table_rows: Option<f64>,
    /// The query-writing pattern that keeps this scan from fetching the whole table.
    pub fix: Fix,
}

impl ForeignScan {
    /// No remote WHERE, no remote GROUP BY, no aggregate: every row of the table comes across.
    pub fn fetches_whole_table(&self) -> bool {
        let sql = self.remote_sql.to_ascii_uppercase();
        let filtered = sql.contains(" WHERE ");
        let grouped = sql.contains(" GROUP BY ");
        let aggregated = [
            "COUNT(",
            "SUM(",
            "AVG(",
            "MIN(",
            "MAX(",
            "BOOL_AND(",
            "BOOL_OR(",
            "ARRAY_AGG(",
            "STRING_AGG(",
        ]
        .iter()
        .any(|f| sql.contains(f));
        !(filtered || grouped || aggregated)
    }

    /// Estimated rows crossing the link.
    pub fn fetched_rows(&self) -> f64 {
        match self.table_rows {
            Some(n) if self.fetches_whole_table() => n.max(self.rows),
            _ => self.rows,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct PushdownReport {
    pub scans: Vec<ForeignScan>,
    /// One line per flagged scan, saying what and why.
    pub flagged: Vec<String>,
}

impl PushdownReport {
    pub fn remote_sql(&self) -> Vec<String> {
        self.scans.iter().map(|s| s.remote_sql.clone()).collect()
    }

    pub fn is_flagged(&self) -> bool {
        !self.flagged.is_empty()
    }
}

/// The foreign scans of a plan (the whole EXPLAIN JSON document).
pub fn scans(explain: &Value) -> Vec<ForeignScan> {
    let mut scans = Vec::new();
    match explain {
        Value::Array(items) => items
            .iter()
            .for_each(|i| collect(&i["Plan"], Position::default(), &mut scans)),
        other => collect(&other["Plan"], Position::default(), &mut scans),
    }
    scans
}

/// Flags the scans that fetch a whole table of more than `threshold` estimated
/// rows, with the advice for a local cluster of PostgreSQL `server_major`.
pub fn check(scans: Vec<ForeignScan>, threshold: f64, server_major: u32) -> PushdownReport {
    let flagged = scans
        .iter()
        .filter(|s| s.fetches_whole_table() && s.fetched_rows() > threshold)
        .map(|s| {
            format!(
                "foreign scan of {} fetches the whole table (about {} rows, over the threshold of {}): no filter or aggregate runs remotely; {} (README: Writing fast cross-database queries). Remote SQL: {}",
                s.relation,
                s.fetched_rows(),
                threshold,
                s.fix.advice(server_major),
                s.remote_sql
            )
        })
        .collect();
    PushdownReport { scans, flagged }
}

fn collect(node: &Value, position: Position, out: &mut Vec<ForeignScan>) {
    let kind = node.get("Node Type").and_then(Value::as_str).unwrap_or("");
    if kind == "Foreign Scan" {
        if let Some(sql) = node.get("Remote SQL").and_then(Value::as_str) {
            let table = match (
                node.get("Schema").and_then(Value::as_str),
                node.get("Relation Name").and_then(Value::as_str),
            ) {
                (Some(schema), Some(table)) => Some((schema.to_string(), table.to_string())),
                _ => None,
            };
            let relation = match &table {
                Some((schema, name)) => format!("{schema}.{name}"),
                None => node
                    .get("Relations")
                    .and_then(Value::as_str)
                    .unwrap_or("a foreign relation")
                    .to_string(),
            };
            out.push(ForeignScan {
                remote_sql: sql.to_string(),
                rows: node.get("Plan Rows").and_then(Value::as_f64).unwrap_or(0.0),
                relation,
                table,
                table_rows: None,
                fix: fix::fix_for(node, position),
            });
        }
    }
    for (index, child) in fix::children(node).iter().enumerate() {
        collect(child, position.below(node, index), out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scan(sql: &str, rows: f64) -> Value {
        json!({"Node Type": "Foreign Scan", "Schema": "orders_remote", "Relation Name": "orders",
               "Plan Rows": rows, "Remote SQL": sql})
    }

    #[test]
    fn whole_table_over_threshold_is_flagged() {
        let plan = json!([{"Plan": {"Node Type": "Hash Join", "Plan Rows": 10, "Plans": [
            {"Node Type": "Seq Scan", "Relation Name": "users", "Plan Rows": 1000},
            {"Node Type": "Hash", "Plans": [scan("SELECT user_id, total_cents, created_at FROM public.orders", 10000.0)]}
        ]}}]);
        let r = check(scans(&plan), 5000.0, 15);
        assert_eq!(r.scans.len(), 1);
        assert_eq!(r.scans[0].table, Some(("orders_remote".into(), "orders".into())));
        assert_eq!(r.flagged.len(), 1);
        assert!(r.flagged[0].contains("orders_remote.orders") && r.flagged[0].contains("FROM public.orders"));
        // Under the threshold: small tables may be fetched whole.
        assert!(!check(scans(&plan), 20000.0, 15).is_flagged());
    }

    #[test]
    fn a_local_filter_does_not_hide_the_whole_table_fetch() {
        // `created_at >= now() - interval '1 day'` stays local: "Plan Rows" is
        // what survives the filter, the table's size is what crosses the link.
        let plan = json!([{"Plan": scan("SELECT created_at FROM public.orders", 1.0)}]);
        let mut found = scans(&plan);
        assert!(!check(found.clone(), 5000.0, 15).is_flagged());
        found[0].table_rows = Some(10000.0);
        assert_eq!(found[0].fetched_rows(), 10000.0);
        assert!(check(found, 5000.0, 15).is_flagged());
    }

    #[test]
    fn remote_filters_and_aggregates_are_not_flagged() {
        for sql in [
            "SELECT user_id FROM public.orders WHERE ((created_at >= $1::timestamp with time zone))",
            "SELECT user_id, count(*), sum(total_cents) FROM public.orders GROUP BY 1",
            "SELECT count(*) FROM public.orders",
        ] {
            let plan = json!([{"Plan": scan(sql, 1e6)}]);
            let mut found = scans(&plan);
            found[0].table_rows = Some(1e6);
            let r = check(found, 5000.0, 15);
            assert!(!r.is_flagged(), "{sql}");
            assert_eq!(r.remote_sql(), vec![sql.to_string()]);
        }
    }

    #[test]
    fn pushed_down_join_without_filter_is_flagged_by_its_relations() {
        let plan = json!([{"Plan": {"Node Type": "Foreign Scan", "Relations": "(orders_remote.orders o) INNER JOIN (orders_remote.order_items i)",
            "Plan Rows": 25000, "Remote SQL": "SELECT r1.id, r2.sku FROM (public.orders r1 INNER JOIN public.order_items r2 ON (((r1.id = r2.order_id))))"}}]);
        let r = check(scans(&plan), 5000.0, 15);
        assert_eq!(r.flagged.len(), 1);
        assert!(r.flagged[0].contains("INNER JOIN (orders_remote.order_items i)"));
    }

    fn whole(filter: Option<&str>) -> Value {
        let mut s = scan("SELECT user_id, total_cents, created_at FROM public.orders", 100000.0);
        if let Some(f) = filter {
            s["Filter"] = json!(f);
        }
        s
    }

    fn local(filter: Option<&str>) -> Value {
        let mut s = json!({"Node Type": "Seq Scan", "Relation Name": "users", "Schema": "public", "Plan Rows": 600});
        if let Some(f) = filter {
            s["Filter"] = json!(f);
        }
        s
    }

    fn fix_of(plan: Value) -> (Fix, String) {
        let r = check(scans(&json!([{ "Plan": plan }])), 5000.0, 15);
        assert_eq!(r.flagged.len(), 1, "{:?}", r.flagged);
        (r.scans[0].fix, r.flagged[0].clone())
    }

    #[test]
    fn a_now_window_is_told_to_use_an_initplan_bound() {
        let (fix, line) = fix_of(json!({"Node Type": "Aggregate", "Plans": [
            whole(Some("(o.created_at >= (now() - '60 days'::interval))"))]}));
        assert_eq!(fix, Fix::InitPlanBound);
        assert!(line.contains("(SELECT now() - interval"), "{line}");
    }

    #[test]
    fn a_join_filtered_on_the_local_side_is_told_to_ship_the_ids() {
        let (fix, line) = fix_of(json!({"Node Type": "Aggregate", "Plans": [
            {"Node Type": "Hash Join", "Join Type": "Inner", "Plans": [
                whole(None),
                {"Node Type": "Hash", "Plans": [local(Some("(u.segment = 'enterprise'::text)"))]}]}]}));
        assert_eq!(fix, Fix::ArrayOfLocalIds);
        assert!(
            line.contains("= ANY ((SELECT array_agg(id)") && line.contains("view"),
            "{line}"
        );
    }

    #[test]
    fn an_anti_join_is_told_to_group_the_remote_keys() {
        let (fix, _) = fix_of(json!({"Node Type": "Aggregate", "Plans": [
            {"Node Type": "Hash Join", "Join Type": "Anti", "Plans": [
                local(None), {"Node Type": "Hash", "Plans": [whole(None)]}]}]}));
        assert_eq!(fix, Fix::RemoteKeys);
    }

    #[test]
    fn a_whole_history_aggregate_is_told_to_aggregate_remotely() {
        let (fix, line) = fix_of(json!({"Node Type": "Aggregate", "Plans": [
            {"Node Type": "Hash Join", "Join Type": "Inner", "Plans": [
                whole(None), {"Node Type": "Hash", "Plans": [local(None)]}]}]}));
        assert_eq!(fix, Fix::AggregateRemotely);
        assert!(
            line.contains("GROUP BY the join key")
                && line.contains("INCLUDEs the aggregated columns")
                && line.contains("SET work_mem` behind a view"),
            "{line}"
        );
    }

    #[test]
    fn a_plain_fetch_gets_the_general_advice() {
        let (fix, _) = fix_of(whole(None));
        assert_eq!(fix, Fix::ShippableFilter);
    }
}
