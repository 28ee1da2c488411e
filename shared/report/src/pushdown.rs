//! The pushdown check: from a report's `EXPLAIN (VERBOSE, FORMAT JSON)`, the
//! `Remote SQL` of every foreign scan (stored with the run), and the flags:
//! the advice of cluster A's `fdw_bridge.advise_plan` on that plan, which the
//! link installs ([`super::advice`]). The rules live there, in one place for
//! psql, the command line and this check (ARCHITECTURE.md: one source of
//! advice); here the plan is only read and the advice turned into lines.

use serde_json::Value;

/// Default threshold of estimated rows crossing the link (FDW_REPORT_PUSHDOWN_ROWS):
/// scans that bring fewer are not worth a rewrite.
pub const DEFAULT_ROWS_THRESHOLD: f64 = 5000.0;

#[derive(Clone, Debug, PartialEq)]
pub struct ForeignScan {
    /// What postgres_fdw sends to the remote cluster.
    pub remote_sql: String,
    /// The planner's estimate of rows this scan returns.
    pub rows: f64,
    /// `schema.table`, or postgres_fdw's "Relations" text for a pushed-down join or aggregate.
    pub relation: String,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct PushdownReport {
    pub scans: Vec<ForeignScan>,
    /// One line per cause the advice found, saying what, why and what to write instead.
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

/// One row of `fdw_bridge.advise_plan` with a cause (pattern other than "none").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdviceRow {
    pub scan: Option<String>,
    pub crosses: Option<String>,
    pub pattern: String,
    pub cause: String,
    pub rewrite: Option<String>,
}

impl AdviceRow {
    /// The flag line: the scan, the cause, what to write instead, and what crosses.
    pub fn line(&self) -> String {
        format!(
            "foreign scan of {}: {} [{}]; instead: {} (README: Writing fast cross-database queries). {}",
            self.scan.as_deref().unwrap_or("a foreign relation"),
            self.cause,
            self.pattern,
            self.rewrite.as_deref().unwrap_or("see the cause"),
            self.crosses.as_deref().unwrap_or("")
        )
    }
}

/// The foreign scans of a plan (the whole EXPLAIN JSON document).
pub fn scans(explain: &Value) -> Vec<ForeignScan> {
    let mut scans = Vec::new();
    match explain {
        Value::Array(items) => items.iter().for_each(|i| collect(&i["Plan"], &mut scans)),
        other => collect(&other["Plan"], &mut scans),
    }
    scans
}

fn collect(node: &Value, out: &mut Vec<ForeignScan>) {
    let text = |key: &str| node.get(key).and_then(Value::as_str);
    if text("Node Type") == Some("Foreign Scan") {
        if let Some(sql) = text("Remote SQL") {
            let relation = match (text("Schema"), text("Relation Name")) {
                (Some(schema), Some(table)) => format!("{schema}.{table}"),
                _ => text("Relations").unwrap_or("a foreign relation").to_string(),
            };
            out.push(ForeignScan {
                remote_sql: sql.to_string(),
                rows: node.get("Plan Rows").and_then(Value::as_f64).unwrap_or(0.0),
                relation,
            });
        }
    }
    for child in node.get("Plans").and_then(Value::as_array).into_iter().flatten() {
        collect(child, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_foreign_scan_is_listed_with_its_remote_sql() {
        let plan = json!([{"Plan": {"Node Type": "Hash Join", "Plans": [
            {"Node Type": "Seq Scan", "Relation Name": "users", "Plan Rows": 1000},
            {"Node Type": "Hash", "Plans": [{"Node Type": "Foreign Scan", "Schema": "orders_remote",
                "Relation Name": "orders", "Plan Rows": 10000, "Remote SQL": "SELECT user_id FROM public.orders"}]},
            {"Node Type": "Foreign Scan", "Relations": "Aggregate on (orders_remote.orders o)",
                "Plan Rows": 5, "Remote SQL": "SELECT status, count(*) FROM public.orders GROUP BY 1"}
        ]}}]);
        let found = scans(&plan);
        assert_eq!(
            found.iter().map(|s| s.relation.as_str()).collect::<Vec<_>>(),
            ["orders_remote.orders", "Aggregate on (orders_remote.orders o)"]
        );
        assert_eq!(found[0].rows, 10000.0);
        let report = PushdownReport {
            scans: found,
            flagged: vec![],
        };
        assert!(!report.is_flagged());
        assert_eq!(
            report.remote_sql()[1],
            "SELECT status, count(*) FROM public.orders GROUP BY 1"
        );
    }

    #[test]
    fn a_flag_line_names_the_scan_the_cause_the_pattern_and_the_rewrite() {
        let row = AdviceRow {
            scan: Some("orders_remote.orders o".into()),
            crosses: Some("10000 rows (estimated)".into()),
            pattern: "initplan".into(),
            cause: "(o.created_at >= now()) stays on this cluster".into(),
            rewrite: Some("SELECT ... >= (SELECT now())".into()),
        };
        let line = row.line();
        assert!(
            line.starts_with("foreign scan of orders_remote.orders o: (o.created_at >= now()) stays"),
            "{line}"
        );
        assert!(
            line.contains("[initplan]; instead: SELECT ... >= (SELECT now())")
                && line.ends_with("10000 rows (estimated)")
        );
        let bare = AdviceRow {
            scan: None,
            crosses: None,
            rewrite: None,
            ..row
        };
        assert!(bare.line().contains("a foreign relation") && bare.line().contains("instead: see the cause"));
    }
}
