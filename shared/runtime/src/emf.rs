//! CloudWatch Embedded Metric Format: one JSON line on stdout per thing
//! measured (Lambda sends stdout to CloudWatch Logs, which extracts the metrics
//! the line's `_aws` envelope declares:
//! https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
//! Every function writes its lines here: namespace `FdwBridge`, one dimension a line.

use serde_json::{json, Map, Value};
use std::time::{SystemTime, UNIX_EPOCH};

/// The CloudWatch namespace of every Embedded Metric Format line the functions
/// print on stdout (fdw-report per report, fdw-bootstrap per refreshed link).
pub const NAMESPACE: &str = "FdwBridge";

/// CloudWatch units the lines use.
pub const COUNT: &str = "Count";
pub const MILLISECONDS: &str = "Milliseconds";

/// The EMF document at `timestamp_ms` (epoch milliseconds): the envelope
/// declaring `metrics` (name, unit) under the one `dimension`, then `fields`, a
/// JSON object that holds the dimension's value, each metric's value and any
/// other property worth reading in the log.
pub fn line(dimension: &str, metrics: &[(&str, &str)], timestamp_ms: i64, fields: Value) -> Value {
    let metrics: Vec<Value> = metrics
        .iter()
        .map(|(name, unit)| json!({"Name": name, "Unit": unit}))
        .collect();
    let mut document = Map::new();
    document.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [[dimension]],
                "Metrics": metrics,
            }],
        }),
    );
    if let Value::Object(fields) = fields {
        document.extend(fields);
    }
    Value::Object(document)
}

/// Now, in epoch milliseconds, for [`line`].
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Prints the line raw on stdout, where CloudWatch extracts the metrics from it.
pub fn print(line: &Value) {
    println!("{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_declaring_each_metric_under_the_dimension_with_the_fields_beside() {
        let line = line(
            "Thing",
            &[("DurationMs", MILLISECONDS), ("Rows", COUNT)],
            1_700_000_000_000,
            json!({"Thing": "t", "DurationMs": 12, "Rows": 3, "Status": "ok"}),
        );
        let text = line.to_string();
        assert!(!text.contains('\n'));
        assert_eq!(line["_aws"]["Timestamp"], 1_700_000_000_000_i64);
        let def = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(def["Namespace"], "FdwBridge");
        assert_eq!(def["Dimensions"], json!([["Thing"]]));
        assert_eq!(
            def["Metrics"],
            json!([{"Name": "DurationMs", "Unit": "Milliseconds"}, {"Name": "Rows", "Unit": "Count"}])
        );
        for m in def["Metrics"].as_array().unwrap() {
            let name = m["Name"].as_str().unwrap();
            assert!(line[name].is_number(), "{name} has no value");
        }
        assert_eq!(
            (line["Thing"].as_str(), line["Status"].as_str()),
            (Some("t"), Some("ok"))
        );
        assert!(now_ms() > 1_700_000_000_000);
    }
}
