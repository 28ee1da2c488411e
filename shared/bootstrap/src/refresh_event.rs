//! The refresh event: what EventBridge Scheduler (or an operator) sends
//! fdw-bootstrap to converge every link stored on a local cluster again.
//! Pure: no I/O.
//!
//! ```json
//! {"Action": "Refresh",
//!  "LocalCluster": {"ClusterIdentifier": "users-cluster", "Database": "users", "AdminSecretArn": "arn:..."},
//!  "ServerNames": ["orders_link"], "DryRun": false}
//! ```
//! `ServerNames` (default: every stored link) and `DryRun` (default false) are optional.

use super::properties::{cluster, identifier, scalar_string, string_list, unknown_keys, ClusterRef};
use serde_json::Value;

pub const REFRESH_ACTION: &str = "Refresh";
const KEYS: &[&str] = &["Action", "LocalCluster", "ServerNames", "DryRun"];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshRequest {
    /// Where the links are stored: their local cluster.
    pub local: ClusterRef,
    /// Only these links; empty: every stored link.
    pub server_names: Vec<String>,
    /// Plan and report, change nothing.
    pub dry_run: bool,
}

/// None when the event is not a refresh (a CloudFormation request has no
/// "Action"); otherwise the request, or every problem with it.
pub fn refresh_request(event: &Value) -> Option<Result<RefreshRequest, String>> {
    let object = event.as_object()?;
    if object.get("Action").and_then(Value::as_str) != Some(REFRESH_ACTION) {
        return None;
    }
    let mut errors = Vec::new();
    unknown_keys(object, KEYS, "", &mut errors);
    let local = cluster(object, "LocalCluster", &mut errors);
    let server_names = string_list(object.get("ServerNames"), "ServerNames", &mut errors);
    for (i, name) in server_names.iter().enumerate() {
        identifier(name, &format!("ServerNames[{i}]"), &mut errors);
    }
    let dry_run = match object.get("DryRun") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(v) => match scalar_string(v, "DryRun", &mut errors).as_deref() {
            Some(t) if t.eq_ignore_ascii_case("true") => true,
            Some(t) if t.eq_ignore_ascii_case("false") => false,
            Some(t) => {
                errors.push(format!("DryRun is {t:?}: expected true or false"));
                false
            }
            None => false,
        },
    };
    Some(match local {
        Some(local) if errors.is_empty() => Ok(RefreshRequest {
            local,
            server_names,
            dry_run,
        }),
        _ => Err(format!("invalid refresh event: {}", errors.join("; "))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cloudformation_requests_are_not_refreshes() {
        assert!(refresh_request(&json!({"RequestType": "Create", "ResponseURL": "http://x"})).is_none());
        assert!(refresh_request(&json!({"Action": "Something"})).is_none());
        assert!(refresh_request(&json!([1])).is_none());
    }

    #[test]
    fn a_scheduler_event_reads_with_defaults() {
        let r = refresh_request(&json!({
            "Action": "Refresh",
            "LocalCluster": {"ClusterIdentifier": "users", "Database": "users", "AdminSecretArn": "arn:a"}
        }))
        .unwrap()
        .unwrap();
        assert_eq!((r.server_names.len(), r.dry_run), (0, false));
        assert_eq!(r.local.cluster_identifier.as_deref(), Some("users"));

        let r = refresh_request(&json!({
            "Action": "Refresh", "DryRun": "TRUE", "ServerNames": ["orders_link"],
            "LocalCluster": {"Endpoint": "a", "Port": "5432", "Database": "users", "AdminSecretArn": "arn:a"}
        }))
        .unwrap()
        .unwrap();
        assert_eq!((r.server_names, r.dry_run), (vec!["orders_link".to_string()], true));
    }

    #[test]
    fn every_problem_is_named() {
        let e = refresh_request(&json!({"Action": "Refresh", "DryRun": "maybe", "Extra": 1, "ServerNames": [""]}))
            .unwrap()
            .unwrap_err();
        for part in [
            "missing property LocalCluster",
            "DryRun is \"maybe\"",
            "unknown property Extra",
            "ServerNames[0]",
        ] {
            assert!(e.contains(part), "{part} not in {e}");
        }
    }
}
