//! fdw-bootstrap's failures as Lambda error types (see [`fdw_bridge_runtime::diagnostic`]).
//! A CloudFormation request fails the invocation only when it cannot be
//! answered (every other failure is a FAILED response); a refresh fails it
//! when a link could not be refreshed. And which of them pass by themselves
//! (a failover, no free slot): those are retried ([`fdw_bridge_runtime::retry`]).

use super::converge::ConvergeError;
use super::custom_resource::EventNotAnswered;
use super::prerequisites::PrerequisiteError;
use super::refresh::RefreshError;
use super::resolve::ResolveLinkError;
use fdw_bridge_runtime::diagnostic::{self as kind, pg_error_type, Classified};
use fdw_bridge_runtime::retry::{Retryable, Transient};
use lambda_runtime::Diagnostic;

/// Converging is safe to repeat: each attempt plans from what the clusters hold.
impl Retryable for ConvergeError {
    fn transient(&self) -> Option<Transient> {
        match self {
            Self::Connect(e) => e.transient(),
            Self::Sql { source, .. } => source.transient(),
            // A reader that lags past its wait has been waited for already.
            Self::Plan(_) | Self::RemoteCa(_) | Self::Replica(_) | Self::Superseded { .. } => None,
        }
    }
}

/// The refresh's first read of the local cluster (the links stored there).
impl Retryable for RefreshError {
    fn transient(&self) -> Option<Transient> {
        match self {
            Self::Connect(e) => e.transient(),
            Self::Registry(e) => e.transient(),
            _ => None,
        }
    }
}

impl Retryable for PrerequisiteError {
    fn transient(&self) -> Option<Transient> {
        match self {
            Self::Connect(e) => e.transient(),
            Self::Read { source, .. } => source.transient(),
            Self::Unmet(_) => None,
        }
    }
}

impl Classified for EventNotAnswered {
    fn error_type(&self) -> &'static str {
        match self {
            Self::NoResponseUrl(_) => kind::INVALID_EVENT,
            Self::Delivery(_) => kind::RESPONSE_UNDELIVERABLE,
        }
    }
}

impl Classified for ResolveLinkError {
    fn error_type(&self) -> &'static str {
        match self {
            Self::Secret { source, .. } => source.error_type(),
            Self::Endpoint { source, .. } => source.error_type(),
            Self::NoEndpoint { .. } | Self::NoReaderEndpoint { .. } => kind::ENDPOINT_UNAVAILABLE,
            // A secret was read but names a user the link cannot use.
            Self::BadFdwUser { .. } | Self::ReportRoleTaken { .. } | Self::FdwUserIsAdmin { .. } => {
                kind::SECRET_INVALID
            }
        }
    }
}

/// A link that could not be converged (in a refresh; CloudFormation gets FAILED).
impl Classified for ConvergeError {
    fn error_type(&self) -> &'static str {
        match self {
            Self::Connect(e) => e.error_type(),
            Self::Sql { source, .. } => pg_error_type(source, kind::REFRESH_FAILED),
            Self::Plan(_) | Self::RemoteCa(_) | Self::Replica(_) | Self::Superseded { .. } => kind::REFRESH_FAILED,
        }
    }
}

impl Classified for RefreshError {
    fn error_type(&self) -> &'static str {
        match self {
            Self::InvalidEvent(_) => kind::INVALID_EVENT,
            Self::Resolve(e) => e.error_type(),
            Self::Connect(e) => e.error_type(),
            Self::Registry(e) => pg_error_type(e, kind::REFRESH_FAILED),
            Self::Outage { source, .. } => source.error_type(),
            Self::LinksFailed { .. } => kind::REFRESH_FAILED,
        }
    }
}

impl From<EventNotAnswered> for Diagnostic {
    fn from(e: EventNotAnswered) -> Self {
        e.diagnostic()
    }
}
