//! What a failed invocation reports to Lambda: a stable `errorType` that says
//! which part failed (so CloudWatch metric filters, Lambda destinations and
//! alarms can tell a bad event from a dead cluster) and the human message as
//! `errorMessage`. The Lambda runtime API takes both in the invocation error
//! body: https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html#runtimes-api-invokeerror
//!
//! The names are part of the interface: they are listed in docs/operations.md
//! ("Error types") and never renamed.

use fdw_bridge_aws::EndpointError;
use fdw_bridge_aws::SecretError;
use fdw_bridge_pg::{ConnectError, PgError, SqlState};
use lambda_runtime::Diagnostic;

/// The event is not what the function takes (not JSON of the right shape, an unknown step or report).
pub const INVALID_EVENT: &str = "InvalidEvent";
/// A cluster did not answer (refused, timed out, shutting down).
pub const CLUSTER_UNREACHABLE: &str = "ClusterUnreachable";
/// A cluster refused a session for lack of connection slots (SQLSTATE 53300).
pub const CLUSTER_BUSY: &str = "ClusterBusy";
/// A cluster refused the login (wrong password, no such role, no CONNECT).
pub const CLUSTER_LOGIN_REFUSED: &str = "ClusterLoginRefused";
/// TLS with a cluster failed (certificate not in the bundle, wrong host name).
pub const CLUSTER_TLS_FAILED: &str = "ClusterTlsFailed";
/// A secret could not be read from Secrets Manager.
pub const SECRET_UNAVAILABLE: &str = "SecretUnavailable";
/// A secret was read but does not hold what the function needs.
pub const SECRET_INVALID: &str = "SecretInvalid";
/// RDS DescribeDBClusters failed or the cluster has no endpoint.
pub const ENDPOINT_UNAVAILABLE: &str = "EndpointUnavailable";
/// The function's own settings (environment) are incomplete.
pub const CONFIGURATION_INVALID: &str = "ConfigurationInvalid";
/// fdw-report: at least one report failed or timed out (the others were stored).
pub const REPORT_FAILED: &str = "ReportFailed";
/// fdw-report: the results could not be stored on the writer.
pub const REPORT_STORE_FAILED: &str = "ReportStoreFailed";
/// fdw-rotate: a step's SQL or check failed on a cluster.
pub const ROTATION_STEP_FAILED: &str = "RotationStepFailed";
/// fdw-rotate: the step does not fit the secret's stages or the link (out of order, no link, refused user).
pub const ROTATION_REFUSED: &str = "RotationRefused";
/// fdw-rotate: testSecret found the pending credentials not working through the link.
pub const ROTATION_TEST_FAILED: &str = "RotationTestFailed";
/// fdw-bootstrap: the response could not be delivered to CloudFormation's ResponseURL.
pub const RESPONSE_UNDELIVERABLE: &str = "ResponseUndeliverable";
/// fdw-bootstrap: a scheduled refresh could not converge at least one stored link (the others were).
pub const REFRESH_FAILED: &str = "RefreshFailed";

/// Every name above, for the README check and the tests.
pub const ALL: [&str; 16] = [
    INVALID_EVENT,
    CLUSTER_UNREACHABLE,
    CLUSTER_BUSY,
    CLUSTER_LOGIN_REFUSED,
    CLUSTER_TLS_FAILED,
    SECRET_UNAVAILABLE,
    SECRET_INVALID,
    ENDPOINT_UNAVAILABLE,
    CONFIGURATION_INVALID,
    REPORT_FAILED,
    REPORT_STORE_FAILED,
    ROTATION_STEP_FAILED,
    ROTATION_REFUSED,
    ROTATION_TEST_FAILED,
    RESPONSE_UNDELIVERABLE,
    REFRESH_FAILED,
];

/// An error that knows which part failed.
pub trait Classified: std::fmt::Display {
    fn error_type(&self) -> &'static str;

    /// The Lambda diagnostic: the stable type and the whole message.
    fn diagnostic(&self) -> Diagnostic {
        Diagnostic {
            error_type: self.error_type().to_string(),
            error_message: self.to_string(),
        }
    }
}

impl Classified for ConnectError {
    fn error_type(&self) -> &'static str {
        match self {
            Self::Timeout { .. } => CLUSTER_UNREACHABLE,
            Self::Tls { .. } => CLUSTER_TLS_FAILED,
            Self::Auth { .. } => CLUSTER_LOGIN_REFUSED,
            Self::Other { sqlstate, .. } if sqlstate.as_ref() == Some(&SqlState::TOO_MANY_CONNECTIONS) => CLUSTER_BUSY,
            // No CONNECT privilege on the database: a login problem, not a dead cluster.
            Self::Other { sqlstate, .. } if sqlstate.as_ref() == Some(&SqlState::INSUFFICIENT_PRIVILEGE) => {
                CLUSTER_LOGIN_REFUSED
            }
            Self::Other { .. } => CLUSTER_UNREACHABLE,
        }
    }
}

/// A statement that failed: a connection-slot refusal or a lost connection
/// names the cluster's state; anything else is the caller's own kind.
pub fn pg_error_type(e: &PgError, otherwise: &'static str) -> &'static str {
    match &e.code {
        Some(c) if *c == SqlState::TOO_MANY_CONNECTIONS => CLUSTER_BUSY,
        Some(c) if *c == SqlState::CANNOT_CONNECT_NOW || *c == SqlState::ADMIN_SHUTDOWN => CLUSTER_UNREACHABLE,
        // No SQLSTATE: the connection itself broke (closed, reset).
        None => CLUSTER_UNREACHABLE,
        Some(_) => otherwise,
    }
}

impl Classified for SecretError {
    fn error_type(&self) -> &'static str {
        match self {
            Self::NotFound { .. } | Self::Unavailable { .. } => SECRET_UNAVAILABLE,
            Self::Malformed { .. } => SECRET_INVALID,
        }
    }
}

impl Classified for EndpointError {
    fn error_type(&self) -> &'static str {
        ENDPOINT_UNAVAILABLE
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fdw_bridge_pg::{ConnectError, PgError};

    fn other(sqlstate: Option<SqlState>) -> ConnectError {
        ConnectError::Other {
            label: "cluster B".into(),
            endpoint: "b:5432".into(),
            dbname: "orders".into(),
            user: "fdw".into(),
            reason: "r".into(),
            sqlstate,
        }
    }

    #[test]
    fn connect_errors_name_the_cluster_state() {
        let timeout = ConnectError::Timeout {
            label: "l".into(),
            endpoint: "e".into(),
            dbname: "d".into(),
            user: "u".into(),
            secs: 5,
        };
        assert_eq!(timeout.error_type(), CLUSTER_UNREACHABLE);
        assert_eq!(other(None).error_type(), CLUSTER_UNREACHABLE);
        assert_eq!(
            other(Some(SqlState::CANNOT_CONNECT_NOW)).error_type(),
            CLUSTER_UNREACHABLE
        );
        assert_eq!(other(Some(SqlState::TOO_MANY_CONNECTIONS)).error_type(), CLUSTER_BUSY);
        assert_eq!(
            other(Some(SqlState::INSUFFICIENT_PRIVILEGE)).error_type(),
            CLUSTER_LOGIN_REFUSED
        );
        let tls = ConnectError::Tls {
            label: "l".into(),
            endpoint: "e".into(),
            reason: "r".into(),
        };
        assert_eq!(tls.error_type(), CLUSTER_TLS_FAILED);
        let d = other(None).diagnostic();
        assert_eq!(d.error_type, CLUSTER_UNREACHABLE);
        assert!(
            d.error_message.starts_with("cluster B: cannot connect to b:5432"),
            "{}",
            d.error_message
        );
    }

    #[test]
    fn statement_errors_keep_the_callers_kind_unless_the_cluster_refused() {
        let with = |code: Option<SqlState>| PgError {
            during: "x".into(),
            code,
            message: "m".into(),
            ..Default::default()
        };
        assert_eq!(
            pg_error_type(&with(Some(SqlState::SYNTAX_ERROR)), REPORT_FAILED),
            REPORT_FAILED
        );
        assert_eq!(
            pg_error_type(&with(Some(SqlState::TOO_MANY_CONNECTIONS)), REPORT_FAILED),
            CLUSTER_BUSY
        );
        assert_eq!(pg_error_type(&with(None), REPORT_FAILED), CLUSTER_UNREACHABLE);
    }

    #[test]
    fn names_are_unique_and_upper_camel_case() {
        let mut names = ALL.to_vec();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), ALL.len());
        for n in ALL {
            assert!(n.chars().next().is_some_and(|c| c.is_ascii_uppercase()), "{n}");
            assert!(n.chars().all(|c| c.is_ascii_alphanumeric()), "{n}");
        }
    }
}
