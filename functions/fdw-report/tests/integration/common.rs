//! What the fdw-report suites share: the real handler wired to the local
//! stack (secrets from moto, TLS to cluster A), the oracle, and record reads.

use chrono::{DateTime, Duration as Days, NaiveDate, Utc};
use fdw_bridge::aws::RdsEndpointSource;
use fdw_bridge::aws::SecretsManager;
use fdw_bridge::report::resolve_targets;
use fdw_bridge::report::ReportFunction;
use fdw_bridge::report::ReportSettings;
use fdw_bridge::report::Window;
use fdw_bridge::report::{as_json_rows, params, Runner};
use fdw_bridge::report::{Catalog, Report};
use fdw_bridge_testkit::{Stack, TestLink};
use serde_json::{json, Value};
use std::sync::Arc;

pub fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).expect("time").with_timezone(&Utc)
}

pub fn window(start: &str, end: &str) -> Window {
    Window::new(t(start), t(end)).expect("window")
}

/// The function's settings as the stack would give them: report_reader reads,
/// users_admin writes, both on cluster A (the secrets carry its host and port).
/// fdw-report's settings for a process of its own binary, as template.yaml gives them.
pub fn report_env(stack: &Stack, link: &TestLink) -> Vec<(&'static str, String)> {
    vec![
        (
            "FDW_REPORT_READER_SECRET_ARN",
            stack.var("REPORT_READER_SECRET_ARN").to_string(),
        ),
        (
            "FDW_REPORT_WRITER_SECRET_ARN",
            stack.var("USERS_ADMIN_SECRET_ARN").to_string(),
        ),
        ("FDW_REPORT_SCHEMA", link.local_schema.clone()),
    ]
}

/// A scheduled event for `reports` over one day of its own.
pub fn day_event(reports: &[&str], day: NaiveDate, tag: &str) -> (Value, Window) {
    let (start, end) = (format!("{day}T00:00:00Z"), format!("{}T00:00:00Z", day + Days::days(1)));
    let event = json!({
        "reports": reports, "scheduledTime": end, "executionId": fdw_bridge_testkit::unique(tag),
        "window": {"start": start, "end": end},
    });
    (event, window(&start, &end))
}

pub fn settings(stack: &Stack, schema: &str) -> ReportSettings {
    settings_with(stack, schema, &[])
}

/// [`settings`] with more variables of the test's own (e.g. FDW_REPORT_LINKS).
pub fn settings_with(stack: &Stack, schema: &str, more: &[(&str, String)]) -> ReportSettings {
    let env = |k: &str| -> Option<String> {
        match k {
            "FDW_CA_BUNDLE" => Some(stack.var("FDW_CA_BUNDLE").to_string()),
            "FDW_REPORT_READER_SECRET_ARN" => Some(stack.var("REPORT_READER_SECRET_ARN").to_string()),
            "FDW_REPORT_WRITER_SECRET_ARN" => Some(stack.var("USERS_ADMIN_SECRET_ARN").to_string()),
            "FDW_REPORT_SCHEMA" => Some(schema.to_string()),
            _ => more.iter().find(|(name, _)| *name == k).map(|(_, v)| v.clone()),
        }
    };
    ReportSettings::from_lookup(env).expect("settings")
}

pub async fn function(stack: &Stack, schema: &str, catalog: Catalog) -> ReportFunction {
    let settings = settings(stack, schema);
    let sdk = aws_config::load_from_env().await;
    ReportFunction {
        connector: stack.connector(),
        catalog,
        secrets: Arc::new(SecretsManager::new(aws_sdk_secretsmanager::Client::new(&sdk))),
        endpoints: Arc::new(RdsEndpointSource::new(aws_sdk_rds::Client::new(&sdk))),
        settings,
    }
}

pub async fn runner(function: &ReportFunction) -> Runner {
    Runner::new(
        function.connector.clone(),
        resolve_targets(
            &function.settings,
            function.secrets.as_ref(),
            function.endpoints.as_ref(),
        )
        .await
        .expect("resolve"),
        &function.settings,
    )
}

/// The shipped reports of the function's own link alone (`{{remote}}`): the
/// ones "all" runs with one link, and the co-located oracle answers (a report
/// across a second link is tested in across_links).
pub fn one_link_reports(catalog: &Catalog) -> Vec<&Report> {
    catalog
        .reports()
        .iter()
        .filter(|r| r.links() == [fdw_bridge::report::LinkRef::Default])
        .collect()
}

/// A report of the tests' own, with a name no other test uses.
pub fn test_report(name: &str, timeout: &str, sql: &str) -> Report {
    let text = format!(
        "-- name: {name}\n-- description: test only\n-- timeout: {timeout}\n-- window: previous_day\n-- params: window_start, window_end\n{sql}\n"
    );
    Report::parse(&format!("{name}.sql"), &text).expect("test report parses")
}

/// Forgets every stored run of these windows (earlier runs of the suite).
pub async fn clear_windows(stack: &Stack, windows: &[Window]) {
    let a = stack.superuser('a', "users").await;
    let exists: bool = a
        .query_one("SELECT to_regclass('fdw_reports.runs') IS NOT NULL", &[])
        .await
        .expect("query")
        .get(0);
    if !exists {
        return;
    }
    for w in windows {
        a.execute(
            "DELETE FROM fdw_reports.runs WHERE window_start = $1 AND window_end = $2",
            &[&w.start, &w.end],
        )
        .await
        .expect("delete");
    }
}

/// A run record as stored.
#[derive(Debug)]
pub struct Stored {
    pub status: String,
    pub row_count: Option<i64>,
    pub error: Option<String>,
    pub remote_sql: Vec<String>,
    pub flagged: bool,
    pub attempt: i32,
    pub rows: Vec<String>,
}

pub async fn stored(stack: &Stack, report: &str, w: &Window) -> Option<Stored> {
    let a = stack.superuser('a', "users").await;
    let run = a
        .query_opt(
            "SELECT status, row_count, error, remote_sql, flagged, attempt FROM fdw_reports.runs
              WHERE report = $1 AND window_start = $2 AND window_end = $3",
            &[&report, &w.start, &w.end],
        )
        .await
        .expect("runs")?;
    let rows = a
        .query(
            "SELECT row::text FROM fdw_reports.results WHERE report = $1 AND window_start = $2 AND window_end = $3 ORDER BY row_no",
            &[&report, &w.start, &w.end],
        )
        .await
        .expect("results")
        .iter()
        .map(|r| r.get(0))
        .collect();
    Some(Stored {
        status: run.get(0),
        row_count: run.get(1),
        error: run.get(2),
        remote_sql: run.get(3),
        flagged: run.get(4),
        attempt: run.get(5),
        rows,
    })
}

/// The oracle: the same SQL over the co-located copies (all tables in one database).
pub async fn colocated(stack: &Stack, report: &Report, w: &Window) -> Vec<String> {
    let c = stack.superuser('a', "colocated").await;
    c.batch_execute("SET TimeZone = 'UTC'").await.expect("set");
    c.query(&as_json_rows(&report.sql("public")), &params(report, w))
        .await
        .expect("oracle query")
        .iter()
        .map(|r| r.get(0))
        .collect()
}
