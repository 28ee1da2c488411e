//! fdw-report's failures as Lambda error types (see [`fdw_bridge_runtime::diagnostic`]).

use super::handler::HandleError;
use super::run::RunError;
use super::targets::ReportTargetError;
use super::writer::{WriterError, WriterFailure};
use fdw_bridge_pg::PgError;
use fdw_bridge_runtime::diagnostic::{self as kind, Classified};
use lambda_runtime::Diagnostic;

impl Classified for HandleError {
    fn error_type(&self) -> &'static str {
        match self {
            Self::Event(_) | Self::Unknown(_) => kind::INVALID_EVENT,
            // The report exists; the function was not given the link it reads through.
            Self::Links(_) => kind::CONFIGURATION_INVALID,
            Self::Resolve(ReportTargetError::Secret { source, .. }) => source.error_type(),
            Self::Resolve(ReportTargetError::Endpoint(source)) => source.error_type(),
            Self::Resolve(ReportTargetError::NoEndpoint { .. }) => kind::CONFIGURATION_INVALID,
            Self::Run(RunError::Writer(source)) => source.error_type(),
            Self::Run(RunError::Schema(source)) => kind::pg_error_type(source, kind::REPORT_STORE_FAILED),
            Self::ReportsFailed { .. } => kind::REPORT_FAILED,
        }
    }
}

impl Classified for WriterError<PgError> {
    fn error_type(&self) -> &'static str {
        match &self.failure {
            WriterFailure::Connect(source) => source.error_type(),
            WriterFailure::Use(source) => kind::pg_error_type(source, kind::REPORT_STORE_FAILED),
        }
    }
}

impl From<HandleError> for Diagnostic {
    fn from(e: HandleError) -> Self {
        e.diagnostic()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event;
    use fdw_bridge_aws::SecretError;
    use fdw_bridge_pg::ConnectError;
    use serde_json::json;

    #[test]
    fn a_bad_event_and_an_unreachable_writer_differ() {
        let bad = HandleError::from(event::parse(&json!([1])).unwrap_err());
        let d = Diagnostic::from(bad);
        assert_eq!(d.error_type, "InvalidEvent");
        assert!(
            d.error_message.starts_with("unusable event, nothing was run"),
            "{}",
            d.error_message
        );
        let dead = HandleError::Run(RunError::Writer(WriterError {
            failure: WriterFailure::Connect(ConnectError::Timeout {
                label: "cluster A (writer)".into(),
                endpoint: "a:5432".into(),
                dbname: "users".into(),
                user: "w".into(),
                secs: 5,
            }),
            outage: None,
        }));
        assert_eq!(Diagnostic::from(dead).error_type, "ClusterUnreachable");
        let secret = HandleError::Resolve(ReportTargetError::Secret {
            setting: "FDW_REPORT_READER_SECRET_ARN",
            source: SecretError::NotFound { id: "arn:x".into() },
        });
        assert_eq!(secret.error_type(), "SecretUnavailable");
        let failed = HandleError::ReportsFailed {
            failed: 1,
            total: 2,
            details: "d".into(),
            outcomes: Vec::new(),
        };
        assert_eq!(failed.error_type(), "ReportFailed");
        let unlinked = HandleError::Links(crate::MissingLinks {
            report: "r".into(),
            missing: vec![crate::LinkRef::Named("payments".into())],
            known: vec!["{{remote}}".into()],
        });
        assert_eq!(unlinked.error_type(), kind::CONFIGURATION_INVALID);
    }
}
