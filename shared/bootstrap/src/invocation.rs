//! One fdw-bootstrap invocation: a CloudFormation request for the
//! `Custom::FdwLink` resource (or for `Custom::AuroraReplicaCleanup`), or a
//! refresh of the stored links (from the EventBridge schedule or an operator).
//! The answer is what Lambda returns.

use super::custom_resource::{
    identity_on_failure, Answer, Bootstrap, EventNotAnswered, Request, Unreadable, RESPONSE_MARGIN,
};
use super::refresh::RefreshError;
use super::refresh_event::refresh_request;
use super::replica_cleanup;
use fdw_bridge_runtime::diagnostic::Classified;
use lambda_runtime::Diagnostic;
use serde_json::{json, Value};
use tokio::time::Instant;

/// Why an invocation failed (Lambda reports it with the kind's errorType).
#[derive(Debug, thiserror::Error)]
pub enum InvocationFailed {
    #[error(transparent)]
    NotAnswered(#[from] EventNotAnswered),
    #[error(transparent)]
    Refresh(#[from] RefreshError),
}

impl Classified for InvocationFailed {
    fn error_type(&self) -> &'static str {
        match self {
            Self::NotAnswered(e) => e.error_type(),
            Self::Refresh(e) => e.error_type(),
        }
    }
}

impl From<InvocationFailed> for Diagnostic {
    fn from(e: InvocationFailed) -> Self {
        e.diagnostic()
    }
}

impl Bootstrap {
    /// Handles one Lambda event with the Lambda `deadline`.
    pub async fn handle_invocation(&self, event: Value, deadline: Instant) -> Result<Value, InvocationFailed> {
        if let Some(request) = refresh_request(&event) {
            let request = request.map_err(RefreshError::InvalidEvent)?;
            return Ok(self.refresh(&request, deadline).await?.to_json());
        }
        let answer = if replica_cleanup::is_cleanup_request(&event) {
            self.handle_replica_cleanup(event, deadline).await?
        } else {
            self.handle_event(event, deadline).await?
        };
        Ok(json!({
            "Status": if answer.success { "SUCCESS" } else { "FAILED" },
            "PhysicalResourceId": answer.physical_resource_id,
            "Reason": answer.reason,
        }))
    }

    /// A `Custom::AuroraReplicaCleanup` request: answered once, like a link's.
    async fn handle_replica_cleanup(&self, event: Value, deadline: Instant) -> Result<Answer, EventNotAnswered> {
        let (request, answer) = match Request::from_value(event) {
            Ok(request) => {
                let until = deadline.checked_sub(RESPONSE_MARGIN).unwrap_or(deadline);
                let answer = replica_cleanup::answer(&request, self.instances.as_ref(), until).await;
                (request, answer)
            }
            Err(Unreadable {
                reason,
                answer_to: Some(request),
            }) => {
                let answer = replica_cleanup::failed(identity_on_failure(&request), reason);
                (*request, answer)
            }
            Err(Unreadable {
                reason,
                answer_to: None,
            }) => return Err(EventNotAnswered::NoResponseUrl(reason)),
        };
        Ok(self.send(&request, answer, deadline).await?)
    }
}
