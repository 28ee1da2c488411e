//! CloudWatch Embedded Metric Format: one JSON line per report run on stdout
//! (Lambda sends stdout to CloudWatch Logs, which extracts the metrics).
//! Namespace `FdwBridge`, dimension `Report`.

use super::run::{ReportOutcome, Status};
use fdw_bridge_runtime::emf::{self, COUNT, MILLISECONDS};
use serde_json::{json, Value};

/// The EMF document for one outcome, at `timestamp_ms` (epoch milliseconds).
pub fn metric_line(outcome: &ReportOutcome, timestamp_ms: i64) -> Value {
    let failed = matches!(outcome.status, Status::Failed | Status::TimedOut);
    emf::line(
        "Report",
        &[
            ("DurationMs", MILLISECONDS),
            ("Rows", COUNT),
            ("Failed", COUNT),
            ("Flagged", COUNT),
        ],
        timestamp_ms,
        json!({
            "Report": outcome.report,
            "DurationMs": outcome.duration_ms,
            "Rows": outcome.rows.unwrap_or(0),
            "Failed": u8::from(failed),
            "Flagged": u8::from(outcome.pushdown.is_flagged()),
            "Status": outcome.status.as_str(),
            "WindowStart": outcome.window.start.to_rfc3339(),
            "WindowEnd": outcome.window.end.to_rfc3339(),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pushdown::PushdownReport;
    use crate::window::WindowKind;

    #[test]
    fn one_line_with_the_four_metrics_under_the_report_dimension() {
        let outcome = ReportOutcome {
            report: "revenue".into(),
            window: WindowKind::Day.before(chrono::DateTime::UNIX_EPOCH + chrono::TimeDelta::days(2)),
            status: Status::TimedOut,
            rows: None,
            duration_ms: 1234,
            error: Some("canceling statement due to statement timeout".into()),
            pushdown: PushdownReport {
                scans: vec![],
                flagged: vec!["x".into()],
            },
        };
        let line = metric_line(&outcome, 1_700_000_000_000);
        let text = line.to_string();
        assert!(!text.contains('\n'));
        let def = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(def["Namespace"], "FdwBridge");
        assert_eq!(def["Dimensions"], json!([["Report"]]));
        for m in def["Metrics"].as_array().unwrap() {
            let name = m["Name"].as_str().unwrap();
            assert!(line[name].is_number(), "{name} has no value");
        }
        assert_eq!(
            (
                line["Failed"].as_u64(),
                line["Flagged"].as_u64(),
                line["DurationMs"].as_u64()
            ),
            (Some(1), Some(1), Some(1234))
        );
        assert_eq!(line["Report"], "revenue");
        assert_eq!(line["Status"], "timed_out");
    }
}
