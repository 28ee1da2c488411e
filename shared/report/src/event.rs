//! What a schedule sends: either the classic EventBridge rule payload
//! (`detail-type: Scheduled Event`) or the Input of an EventBridge Scheduler
//! schedule. Both name the reports (or all of them), the schedule time the
//! window derives from, and optionally an explicit window (backfills).
//!
//! Scheduler input (the schedule's `Input`, context attributes filled in by the Scheduler):
//! ```json
//! {"reports": ["all"], "scheduledTime": "<aws.scheduler.scheduled-time>",
//!  "executionId": "<aws.scheduler.execution-id>"}
//! ```
//! Rule payload: EventBridge's own event; `detail` is `{}` for a schedule (all
//! reports), or `{"reports": [...]}` when an input transformer keeps the shape.
//! Either may carry `"window": {"start": "...", "end": "..."}` (RFC 3339).

use super::window::Window;
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// Where the event came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// An EventBridge rule with a schedule expression.
    Rule,
    /// An EventBridge Scheduler schedule.
    Scheduler,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportRequest {
    pub origin: Origin,
    /// The event id (rule) or execution id (Scheduler); the same on a re-delivery.
    pub event_id: String,
    /// When the schedule fired; each report's window is derived from it.
    pub scheduled_time: DateTime<Utc>,
    /// The reports to run; `None` means all.
    pub reports: Option<Vec<String>>,
    /// An explicit window for every selected report, instead of the derived ones.
    pub window: Option<Window>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReportEventError {
    #[error("the event is not a JSON object: expected an EventBridge Scheduled Event or an EventBridge Scheduler input like {{\"reports\": [\"all\"], \"scheduledTime\": \"<aws.scheduler.scheduled-time>\", \"executionId\": \"<aws.scheduler.execution-id>\"}}")]
    NotAnObject,
    #[error("the event has neither \"detail-type\" (EventBridge rule) nor \"scheduledTime\" (EventBridge Scheduler input): expected {{\"reports\": [\"all\"], \"scheduledTime\": \"<aws.scheduler.scheduled-time>\", \"executionId\": \"<aws.scheduler.execution-id>\"}}")]
    Unrecognized,
    #[error("EventBridge event with detail-type {0:?}: only \"Scheduled Event\" runs reports")]
    NotScheduled(String),
    #[error("malformed EventBridge event: {0}")]
    MalformedRule(String),
    #[error("{field}: {reason}")]
    Field { field: String, reason: String },
}

fn field_error(field: &str, reason: impl Into<String>) -> ReportEventError {
    ReportEventError::Field {
        field: field.to_string(),
        reason: reason.into(),
    }
}

/// Reads either event shape.
pub fn parse(event: &Value) -> Result<ReportRequest, ReportEventError> {
    let object = event.as_object().ok_or(ReportEventError::NotAnObject)?;
    if object.contains_key("detail-type") {
        parse_rule(event)
    } else if object.contains_key("scheduledTime") {
        parse_scheduler(object)
    } else {
        Err(ReportEventError::Unrecognized)
    }
}

fn parse_rule(event: &Value) -> Result<ReportRequest, ReportEventError> {
    let rule: EventBridgeEvent<Value> =
        serde_json::from_value(event.clone()).map_err(|e| ReportEventError::MalformedRule(e.to_string()))?;
    if rule.detail_type != "Scheduled Event" {
        return Err(ReportEventError::NotScheduled(rule.detail_type));
    }
    let scheduled_time = rule
        .time
        .ok_or_else(|| field_error("time", "missing: a Scheduled Event carries the time it fired"))?;
    let detail = match &rule.detail {
        Value::Null => Map::new(),
        Value::Object(m) => m.clone(),
        other => return Err(field_error("detail", format!("must be an object, not {}", kind(other)))),
    };
    check_keys(&detail, "detail", &["reports", "window"])?;
    let reports = match detail.get("reports") {
        None => None,
        Some(v) => reports(v, "detail.reports")?,
    };
    let window = detail.get("window").map(|w| window(w, "detail.window")).transpose()?;
    Ok(ReportRequest {
        origin: Origin::Rule,
        event_id: rule.id.unwrap_or_default(),
        scheduled_time,
        reports,
        window,
    })
}

fn parse_scheduler(input: &Map<String, Value>) -> Result<ReportRequest, ReportEventError> {
    check_keys(
        input,
        "the Scheduler input",
        &["reports", "scheduledTime", "executionId", "window"],
    )?;
    let scheduled_time = time(&input["scheduledTime"], "scheduledTime")?;
    let event_id = match input.get("executionId") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            return Err(field_error(
                "executionId",
                format!("must be a string, not {}", kind(other)),
            ))
        }
    };
    let reports = reports(
        input.get("reports").ok_or_else(|| {
            field_error(
                "reports",
                "missing: name the reports to run, e.g. [\"revenue_by_country_segment\"], or [\"all\"]",
            )
        })?,
        "reports",
    )?;
    let window = input.get("window").map(|w| window(w, "window")).transpose()?;
    Ok(ReportRequest {
        origin: Origin::Scheduler,
        event_id,
        scheduled_time,
        reports,
        window,
    })
}

fn check_keys(map: &Map<String, Value>, what: &str, known: &[&str]) -> Result<(), ReportEventError> {
    let mut unknown: Vec<&str> = map.keys().map(String::as_str).filter(|k| !known.contains(k)).collect();
    unknown.sort_unstable();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(field_error(
        what,
        format!("unknown key(s) {} (known: {})", unknown.join(", "), known.join(", ")),
    ))
}

/// `["all"]` or `"all"` is every report (`None`); otherwise a non-empty list of names.
fn reports(value: &Value, field: &str) -> Result<Option<Vec<String>>, ReportEventError> {
    let names: Vec<String> = match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(s.clone()),
                other => Err(field_error(
                    field,
                    format!("report names are strings, not {}", kind(other)),
                )),
            })
            .collect::<Result<_, _>>()?,
        other => {
            return Err(field_error(
                field,
                format!("must be a list of report names or [\"all\"], not {}", kind(other)),
            ))
        }
    };
    if names.is_empty() {
        return Err(field_error(field, "is empty: name at least one report, or [\"all\"]"));
    }
    if names.iter().any(|n| n == "all") {
        if names.len() > 1 {
            return Err(field_error(field, "\"all\" cannot be combined with report names"));
        }
        return Ok(None);
    }
    let mut unique: Vec<String> = Vec::new();
    for n in names {
        if n.trim().is_empty() {
            return Err(field_error(field, "a report name is empty"));
        }
        if !unique.contains(&n) {
            unique.push(n);
        }
    }
    Ok(Some(unique))
}

fn window(value: &Value, field: &str) -> Result<Window, ReportEventError> {
    let map = value.as_object().ok_or_else(|| {
        field_error(
            field,
            format!("must be {{\"start\": ..., \"end\": ...}}, not {}", kind(value)),
        )
    })?;
    check_keys(map, field, &["start", "end"])?;
    let get = |k: &str| {
        map.get(k).ok_or_else(|| {
            field_error(
                &format!("{field}.{k}"),
                "missing (RFC 3339 time, e.g. 2026-03-01T00:00:00Z)",
            )
        })
    };
    let start = time(get("start")?, &format!("{field}.start"))?;
    let end = time(get("end")?, &format!("{field}.end"))?;
    Window::new(start, end).map_err(|e| field_error(field, e.to_string()))
}

fn time(value: &Value, field: &str) -> Result<DateTime<Utc>, ReportEventError> {
    let text = value
        .as_str()
        .ok_or_else(|| field_error(field, format!("must be an RFC 3339 time string, not {}", kind(value))))?;
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            let shown: String = text.chars().take(40).collect();
            field_error(
                field,
                format!("{shown:?} is not an RFC 3339 time ({e}); e.g. 2026-03-02T06:00:00Z. A literal <aws.scheduler.scheduled-time> means the input was not sent by EventBridge Scheduler"),
            )
        })
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    //! Schedule events, both shapes, and the hostile ones (no server needed).

    use crate::catalog::Catalog;
    use crate::event::{parse, Origin, ReportEventError};
    use crate::handler::{jobs, HandleError, JobsError};
    use crate::links::ReportLinks;
    use crate::settings::{NamedLink, ReportSettings};
    use crate::window::Window;
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
        let named =
            parse(&json!({"reports": [across, "top_customers_by_spend"], "scheduledTime": "2026-03-04T06:00:00Z"}))
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
}
