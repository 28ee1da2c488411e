//! Schedule events, both shapes, and the hostile ones (no server needed).

use super::catalog::Catalog;
use super::event::{parse, Origin, ReportEventError};
use super::handler::{jobs, HandleError, JobsError};
use super::links::ReportLinks;
use super::settings::{NamedLink, ReportSettings};
use super::window::Window;
use chrono::{DateTime, Utc};
use serde_json::json;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// The function's links: its own (orders_remote), and payments when `payments` is set.
fn links(payments: bool) -> ReportLinks {
    let mut s = ReportSettings::from_lookup(|k| match k {
        "FDW_CA_BUNDLE" => Some("/ca".into()),
        "FDW_REPORT_READER_SECRET_ARN" => Some("arn:r".into()),
        "FDW_REPORT_WRITER_SECRET_ARN" => Some("arn:w".into()),
        _ => None,
    })
    .unwrap();
    if payments {
        s.links.insert(
            "payments".into(),
            NamedLink {
                schema: "payments_remote".into(),
                remote_slots: 2,
            },
        );
    }
    ReportLinks::from_settings(&s)
}

fn rule(detail: serde_json::Value) -> serde_json::Value {
    json!({
        "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa", "detail-type": "Scheduled Event",
        "source": "aws.events", "account": "123456789012", "time": "2026-03-04T06:00:00Z",
        "region": "us-east-1", "resources": ["arn:aws:events:us-east-1:123456789012:rule/fdw-report-daily"],
        "detail": detail
    })
}

#[test]
fn classic_rule_runs_every_report_over_its_own_window() {
    let r = parse(&rule(json!({}))).unwrap();
    assert_eq!(r.origin, Origin::Rule);
    assert_eq!(r.event_id, "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa");
    assert_eq!(r.reports, None);
    let catalog = Catalog::shipped().unwrap();
    let jobs = jobs(&catalog, &r, &links(true)).unwrap();
    assert_eq!(jobs.len(), catalog.reports().len());
    let revenue = jobs
        .iter()
        .find(|j| j.report.name == "revenue_by_country_segment")
        .unwrap();
    assert_eq!(
        revenue.window,
        Window::new(t("2026-03-03T00:00:00Z"), t("2026-03-04T00:00:00Z")).unwrap()
    );
    let top = jobs.iter().find(|j| j.report.name == "top_customers_by_spend").unwrap();
    assert_eq!(
        top.window,
        Window::new(t("2026-02-23T00:00:00Z"), t("2026-03-02T00:00:00Z")).unwrap()
    );
}

#[test]
fn rule_detail_may_select_reports_and_a_window() {
    let r = parse(&rule(json!({"reports": ["top_customers_by_spend"],
        "window": {"start": "2026-01-01T00:00:00Z", "end": "2026-02-01T00:00:00Z"}})))
    .unwrap();
    assert_eq!(r.reports, Some(vec!["top_customers_by_spend".to_string()]));
    let catalog = Catalog::shipped().unwrap();
    let jobs = jobs(&catalog, &r, &links(false)).unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].window.start, t("2026-01-01T00:00:00Z"));
}

#[test]
fn scheduler_input_with_names_or_all() {
    let r = parse(
        &json!({"reports": ["revenue_by_country_segment", "status_funnel_by_cohort", "revenue_by_country_segment"],
        "scheduledTime": "2026-03-04T06:00:00Z", "executionId": "exec-1"}),
    )
    .unwrap();
    assert_eq!(r.origin, Origin::Scheduler);
    assert_eq!(r.event_id, "exec-1");
    assert_eq!(r.reports.as_ref().unwrap().len(), 2, "duplicates are run once");
    assert_eq!(r.scheduled_time, t("2026-03-04T06:00:00Z"));
    let all = parse(&json!({"reports": ["all"], "scheduledTime": "2026-03-04T06:00:00+01:00"})).unwrap();
    assert_eq!(all.reports, None);
    assert_eq!(all.scheduled_time, t("2026-03-04T05:00:00Z"));
}

fn field_error(event: serde_json::Value) -> (String, String) {
    match parse(&event) {
        Err(ReportEventError::Field { field, reason }) => (field, reason),
        other => panic!("expected a field error, got {other:?}"),
    }
}

#[test]
fn hostile_and_malformed_events_are_refused_with_the_field() {
    let base = |extra: serde_json::Value| {
        let mut e = json!({"reports": ["all"], "scheduledTime": "2026-03-04T06:00:00Z"});
        for (k, v) in extra.as_object().unwrap() {
            e[k] = v.clone();
        }
        e
    };
    let (f, r) = field_error(base(
        json!({"window": {"start": "2026-03-02T00:00:00Z", "end": "2026-03-01T00:00:00Z"}}),
    ));
    assert_eq!(f, "window");
    assert!(r.contains("not after its start"), "{r}");
    let (f, r) = field_error(base(json!({"scheduledTime": "<aws.scheduler.scheduled-time>"})));
    assert_eq!(f, "scheduledTime");
    assert!(r.contains("RFC 3339"), "{r}");
    assert_eq!(field_error(base(json!({"reports": []}))).0, "reports");
    assert_eq!(field_error(base(json!({"reports": [1]}))).0, "reports");
    assert_eq!(field_error(base(json!({"reports": ["all", "x"]}))).0, "reports");
    assert_eq!(field_error(base(json!({"report": ["x"]}))).0, "the Scheduler input");
    assert_eq!(
        field_error(json!({"scheduledTime": "2026-03-04T06:00:00Z"})).0,
        "reports"
    );
    assert_eq!(
        field_error(base(json!({"window": {"start": "2026-03-02T00:00:00Z"}}))).0,
        "window.end"
    );
    assert_eq!(field_error(base(json!({"window": "yesterday"}))).0, "window");
    assert_eq!(field_error(rule(json!({"reports": "x", "extra": 1}))).0, "detail");
    assert_eq!(field_error(rule(json!([1]))).0, "detail");

    assert_eq!(parse(&json!("revenue")), Err(ReportEventError::NotAnObject));
    assert_eq!(parse(&json!({"hello": 1})), Err(ReportEventError::Unrecognized));
    let mut other = rule(json!({}));
    other["detail-type"] = json!("EC2 Instance State-change Notification");
    assert!(matches!(parse(&other), Err(ReportEventError::NotScheduled(_))));
    let mut no_time = rule(json!({}));
    no_time.as_object_mut().unwrap().remove("time");
    assert_eq!(field_error(no_time).0, "time");
    let mut bad_time = rule(json!({}));
    bad_time["time"] = json!("yesterday");
    assert!(matches!(parse(&bad_time), Err(ReportEventError::MalformedRule(_))));
}

#[test]
fn unknown_report_names_are_refused_before_anything_runs() {
    let r = parse(
        &json!({"reports": ["revenue_by_country_segment", "drop_tables"], "scheduledTime": "2026-03-04T06:00:00Z"}),
    )
    .unwrap();
    let Err(JobsError::Unknown(e)) = jobs(&Catalog::shipped().unwrap(), &r, &links(true)) else {
        panic!("an unknown report is refused");
    };
    assert_eq!(e.unknown, vec!["drop_tables".to_string()]);
    assert!(e.to_string().contains("revenue_by_country_segment"));
}

#[test]
fn all_is_every_report_the_links_can_run_and_a_named_one_needs_its_links() {
    let catalog = Catalog::shipped().unwrap();
    let across = "orders_and_payments_by_country";
    assert!(
        catalog.get(across).is_some(),
        "the report across three clusters is shipped"
    );
    let all = parse(&json!({"reports": ["all"], "scheduledTime": "2026-03-04T06:00:00Z"})).unwrap();
    // Without the payments link, "all" leaves the report across it out; every other one runs.
    let one_link = jobs(&catalog, &all, &links(false)).unwrap();
    assert_eq!(one_link.len(), catalog.reports().len() - 1);
    assert!(one_link.iter().all(|j| j.report.name != across));
    let both = jobs(&catalog, &all, &links(true)).unwrap();
    assert!(both.iter().any(|j| j.report.name == across));
    // Named, it needs the link: refused before anything runs, saying which link and where to give it.
    let named = parse(&json!({"reports": [across, "top_customers_by_spend"], "scheduledTime": "2026-03-04T06:00:00Z"}))
        .unwrap();
    let Err(JobsError::Links(e)) = jobs(&catalog, &named, &links(false)) else {
        panic!("a report across an unknown link is refused");
    };
    let text = format!("{}", HandleError::Links(e));
    assert!(
        text.starts_with(
            "nothing was run: report orders_and_payments_by_country reads through {{remote:payments}} (link payments)"
        ),
        "{text}"
    );
    assert!(text.contains("FDW_REPORT_LINKS"), "{text}");
    assert_eq!(jobs(&catalog, &named, &links(true)).unwrap().len(), 2);
}

#[test]
fn the_sample_events_parse() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.starts_with("fdw-report-") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap().replace("${EVENT_ID}", "sample");
        let event: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let request = parse(&event).unwrap_or_else(|e| panic!("{name}: {e}"));
        jobs(&Catalog::shipped().unwrap(), &request, &links(false)).unwrap_or_else(|e| panic!("{name}: {e}"));
        seen += 1;
    }
    assert!(seen >= 2, "no fdw-report sample events in {}", dir.display());
}
