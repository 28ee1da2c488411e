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
