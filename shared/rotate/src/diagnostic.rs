//! fdw-rotate's failures as Lambda error types (see [`fdw_bridge_runtime::diagnostic`]).

use super::error::{RotateError, RotationFailure};
use super::stages::StageError;
use super::store::RotationStoreError;
use fdw_bridge_runtime::diagnostic::{self as kind, Classified};
use lambda_runtime::Diagnostic;

impl Classified for RotateError {
    fn error_type(&self) -> &'static str {
        match self {
            Self::Stage(StageError::UnknownStep { .. }) => kind::INVALID_EVENT,
            Self::Stage(StageError::NoCurrent { .. }) | Self::NoCurrent { .. } | Self::Format(_) => {
                kind::SECRET_INVALID
            }
            Self::Stage(_)
            | Self::NoPending { .. }
            | Self::Plan(_)
            | Self::ServerMissing { .. }
            | Self::NoMappings { .. }
            | Self::PendingIsInUse { .. } => kind::ROTATION_REFUSED,
            Self::Store(RotationStoreError::Binary { .. }) => kind::SECRET_INVALID,
            Self::Store(_) => kind::SECRET_UNAVAILABLE,
            Self::AdminSecret { source, .. } => source.error_type(),
            Self::Connect(source) => source.error_type(),
            Self::Sql { source, .. } => kind::pg_error_type(source, kind::ROTATION_STEP_FAILED),
            Self::MappingNotSwitched { .. } | Self::Probe { .. } => kind::ROTATION_TEST_FAILED,
            Self::Outage { source, .. } => source.error_type(),
            Self::ReplicaLag(_) => kind::ROTATION_STEP_FAILED,
        }
    }
}

impl Classified for RotationFailure {
    fn error_type(&self) -> &'static str {
        match self {
            Self::Event(_) => kind::INVALID_EVENT,
            Self::Step { source, .. } => source.error_type(),
        }
    }
}

impl From<RotationFailure> for Diagnostic {
    fn from(e: RotationFailure) -> Self {
        e.diagnostic()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event;
    use crate::stages::Step;
    use fdw_bridge_pg::{ConnectError, PgError, SqlState};
    use serde_json::json;

    fn failed(source: RotateError) -> RotationFailure {
        RotationFailure::Step {
            step: Step::Set,
            secret: "arn:s".into(),
            source,
        }
    }

    #[test]
    fn each_failure_names_its_part() {
        let bad = RotationFailure::from(event::parse(&json!({"Step": 1})).unwrap_err());
        assert_eq!(Diagnostic::from(bad).error_type, "InvalidEvent");
        let dead = failed(RotateError::Connect(ConnectError::Other {
            label: "cluster B".into(),
            endpoint: "b:1".into(),
            dbname: "orders".into(),
            user: "postgres".into(),
            reason: "connection refused".into(),
            sqlstate: None,
        }));
        let d = Diagnostic::from(dead);
        assert_eq!(d.error_type, "ClusterUnreachable");
        assert!(
            d.error_message
                .starts_with("setSecret for secret arn:s failed: cluster B: cannot connect"),
            "{}",
            d.error_message
        );
        let sql = |code| {
            failed(RotateError::Sql {
                cluster: "cluster B".into(),
                source: PgError {
                    during: "ALTER ROLE".into(),
                    code: Some(code),
                    message: "m".into(),
                    ..Default::default()
                },
            })
        };
        assert_eq!(sql(SqlState::INSUFFICIENT_PRIVILEGE).error_type(), "RotationStepFailed");
        assert_eq!(sql(SqlState::TOO_MANY_CONNECTIONS).error_type(), "ClusterBusy");
        let out_of_order = failed(RotateError::Stage(StageError::NotPending {
            id: "a".into(),
            token: "t".into(),
            stages: "AWSPREVIOUS".into(),
        }));
        assert_eq!(out_of_order.error_type(), "RotationRefused");
        let probe = failed(RotateError::MappingNotSwitched {
            server: "s".into(),
            found: "f".into(),
            pending: "p".into(),
        });
        assert_eq!(probe.error_type(), "RotationTestFailed");
    }
}
