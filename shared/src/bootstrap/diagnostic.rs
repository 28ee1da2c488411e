//! fdw-bootstrap's failures as Lambda error types (see [`crate::diagnostic`]).
//! Only an event that cannot be answered fails the invocation: every other
//! failure is a FAILED response to CloudFormation.

use super::custom_resource::EventNotAnswered;
use crate::diagnostic::{self as kind, Classified};
use lambda_runtime::Diagnostic;

impl Classified for EventNotAnswered {
    fn error_type(&self) -> &'static str {
        match self {
            Self::NoResponseUrl(_) => kind::INVALID_EVENT,
            Self::Delivery(_) => kind::RESPONSE_UNDELIVERABLE,
        }
    }
}

impl From<EventNotAnswered> for Diagnostic {
    fn from(e: EventNotAnswered) -> Self {
        e.diagnostic()
    }
}
