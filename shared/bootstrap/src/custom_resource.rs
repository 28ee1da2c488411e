//! `Custom::FdwLink`: one CloudFormation request in, exactly one response out,
//! SUCCESS or FAILED, before the Lambda deadline.

use super::converge::{converge, remove, ConvergeMode};
use super::prerequisites;
use super::properties::{self, LinkProperties};
use super::resolve::{registration, resolve_link, ResolvedLink};
use super::response::{deliver, url_host, DeliveryError};
use fdw_bridge_aws::EndpointSource;
use fdw_bridge_aws::InstanceSource;
use fdw_bridge_aws::SecretSource;
use fdw_bridge_pg::{error_chain, Connector};
use fdw_bridge_runtime::retry::{last_attempt_start, retry, Retrier};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

mod answer;
mod request;

use answer::{delete_hint, success};
pub use answer::{identity_on_failure, Answer, FAILED_CREATE_PREFIX};
pub use request::{Request, RequestKind, Unreadable};
// The tests build requests from CloudFormation's own events.
#[cfg(test)]
use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceRequest;

/// Time kept back from the Lambda deadline to deliver the response.
pub const RESPONSE_MARGIN: Duration = Duration::from_secs(10);

/// Why an event got no answer to CloudFormation.
#[derive(Debug, thiserror::Error)]
pub enum EventNotAnswered {
    #[error("{0}: the event has no ResponseURL, so CloudFormation cannot be answered")]
    NoResponseUrl(String),
    #[error(transparent)]
    Delivery(#[from] DeliveryError),
}

/// The clients the handler shares across invocations (built once in `main`).
#[derive(Clone)]
pub struct Bootstrap {
    pub connector: Connector,
    pub secrets: Arc<dyn SecretSource>,
    pub endpoints: Arc<dyn EndpointSource>,
    /// A cluster's instances, for `Custom::AuroraReplicaCleanup` (`replica_cleanup`).
    pub instances: Arc<dyn InstanceSource>,
    pub http: reqwest::Client,
}

impl Bootstrap {
    /// Handles one request and delivers its response. `deadline` is the Lambda
    /// deadline: the work is cut off `RESPONSE_MARGIN` before it, and FAILED sent.
    pub async fn handle(&self, request: &Request, deadline: Instant) -> Result<Answer, DeliveryError> {
        tracing::info!(
            request_type = ?request.kind,
            request_id = %request.request_id,
            logical_resource_id = %request.logical_resource_id,
            physical_resource_id = request.physical_resource_id.as_deref().unwrap_or("-"),
            response_host = %url_host(&request.response_url),
            budget_ms = deadline.saturating_duration_since(Instant::now()).as_millis() as u64,
            "custom resource request"
        );
        let work_until = deadline.checked_sub(RESPONSE_MARGIN).unwrap_or(deadline);
        let answer = match tokio::time::timeout_at(work_until, self.answer(request, work_until)).await {
            Ok(answer) => answer,
            Err(_) => Answer::failed(
                identity_on_failure(request),
                format!(
                    "{:?} did not finish before the Lambda timeout: raise the function's Timeout, or check that both clusters answer \
                     (what it was doing is in the function's log)",
                    request.kind
                ),
            ),
        };
        self.send(request, answer, deadline).await
    }

    /// Handles one Lambda event: a request, or a malformed one that still says
    /// where to answer (answered FAILED without doing anything: CloudFormation
    /// would otherwise wait an hour). An event with nowhere to answer is an error.
    pub async fn handle_event(&self, event: Value, deadline: Instant) -> Result<Answer, EventNotAnswered> {
        match Request::from_value(event) {
            Ok(request) => Ok(self.handle(&request, deadline).await?),
            Err(Unreadable {
                reason,
                answer_to: Some(request),
            }) => {
                let answer = Answer::failed(identity_on_failure(&request), reason);
                Ok(self.send(&request, answer, deadline).await?)
            }
            Err(Unreadable {
                reason,
                answer_to: None,
            }) => Err(EventNotAnswered::NoResponseUrl(reason)),
        }
    }

    /// Logs the answer and delivers it to the ResponseURL.
    pub(super) async fn send(
        &self,
        request: &Request,
        answer: Answer,
        deadline: Instant,
    ) -> Result<Answer, DeliveryError> {
        if answer.success {
            tracing::info!(physical_resource_id = %answer.physical_resource_id, reason = %answer.reason, "SUCCESS");
        } else {
            tracing::error!(physical_resource_id = %answer.physical_resource_id, reason = %answer.reason, "FAILED");
        }
        deliver(
            &self.http,
            &request.response_url,
            &answer.to_response(request),
            deadline,
        )
        .await?;
        Ok(answer)
    }

    async fn answer(&self, request: &Request, work_until: Instant) -> Answer {
        // A cluster failing over, restarting or out of slots is waited for (the
        // one retry policy) while an attempt can still finish before the work is cut off.
        let retrier = Retrier::new(
            format!("{:?} of {}", request.kind, request.logical_resource_id),
            last_attempt_start(work_until.into_std(), self.connector.timeout()),
        );
        match request.kind {
            RequestKind::Create => self.create(request, retrier).await,
            RequestKind::Update => self.update(request, retrier).await,
            RequestKind::Delete => self.delete(request, retrier).await,
        }
    }

    async fn create(&self, request: &Request, mut retrier: Retrier) -> Answer {
        let failed_id = identity_on_failure(request);
        let (props, link) = match self.prepare(request).await {
            Ok(ready) => ready,
            Err(reason) => return Answer::failed(failed_id, reason),
        };
        if let Err(e) = retry(&mut retrier, || prerequisites::check(&self.connector, &link)).await {
            return Answer::failed(failed_id, retrier.explain(&e, &error_chain(&e)));
        }
        match retry(&mut retrier, || converge(&self.connector, &link, ConvergeMode::Apply)).await {
            Ok(outcome) => success(&props, &outcome, "created"),
            Err(e) => {
                let reason = retrier.explain(&e, &error_chain(&e));
                Answer::failed(failed_id, self.clean_up(&link, reason).await)
            }
        }
    }

    async fn update(&self, request: &Request, mut retrier: Retrier) -> Answer {
        let old_id = identity_on_failure(request);
        let (props, link) = match self.prepare(request).await {
            Ok(ready) => ready,
            Err(reason) => return Answer::failed(old_id, reason),
        };
        let replacing = props.physical_id() != old_id;
        if let Err(e) = retry(&mut retrier, || prerequisites::check(&self.connector, &link)).await {
            return Answer::failed(old_id, retrier.explain(&e, &error_chain(&e)));
        }
        match retry(&mut retrier, || converge(&self.connector, &link, ConvergeMode::Apply)).await {
            Ok(outcome) if replacing => {
                success(&props, &outcome, "replaced (CloudFormation removes the old link next)")
            }
            Ok(outcome) => success(&props, &outcome, "updated"),
            // A failed replacement must not leave a second link behind: CloudFormation
            // only knows the old identity.
            Err(e) if replacing => {
                let reason = retrier.explain(&e, &error_chain(&e));
                Answer::failed(old_id, self.clean_up(&link, reason).await)
            }
            Err(e) => Answer::failed(old_id, retrier.explain(&e, &error_chain(&e))),
        }
    }

    async fn delete(&self, request: &Request, mut retrier: Retrier) -> Answer {
        let id = identity_on_failure(request);
        if id.starts_with(FAILED_CREATE_PREFIX) {
            return Answer {
                success: true,
                physical_resource_id: id,
                reason: "nothing to remove: the Create of this resource had failed".into(),
                data: Vec::new(),
            };
        }
        let props = match properties::parse(&request.properties) {
            Ok(p) => p,
            Err(e) => {
                return Answer {
                    success: true,
                    physical_resource_id: id,
                    reason: format!("nothing to remove: these properties could never have created a link ({e})"),
                    data: Vec::new(),
                }
            }
        };
        if props.physical_id() != id {
            tracing::warn!(physical_resource_id = %id, from_properties = %props.physical_id(), "Delete for an identity its properties do not give; removing what the properties describe");
        }
        let link = match self.resolve(request, &props).await {
            Ok(l) => l,
            Err(reason) => return Answer::failed(id, delete_hint(reason, request)),
        };
        match retry(&mut retrier, || remove(&self.connector, &link)).await {
            Ok(outcome) => Answer {
                success: true,
                physical_resource_id: id,
                reason: if outcome.statement_count() == 0 {
                    "nothing to remove: the link was already gone".into()
                } else {
                    format!(
                        "removed: {} statement(s) on the local cluster, {} on the remote cluster",
                        outcome.local.len(),
                        outcome.remote.len()
                    )
                },
                data: Vec::new(),
            },
            Err(e) => Answer::failed(id, delete_hint(retrier.explain(&e, &error_chain(&e)), request)),
        }
    }

    /// Validated properties and the link they describe, or why not.
    async fn prepare(&self, request: &Request) -> Result<(LinkProperties, ResolvedLink), String> {
        let props = properties::parse(&request.properties).map_err(|e| e.to_string())?;
        let link = self.resolve(request, &props).await?;
        Ok((props, link))
    }

    async fn resolve(&self, request: &Request, props: &LinkProperties) -> Result<ResolvedLink, String> {
        resolve_link(
            props,
            registration(&request.stack_id, &request.logical_resource_id, &request.properties),
            self.secrets.as_ref(),
            self.endpoints.as_ref(),
        )
        .await
        .map_err(|e| error_chain(&e))
    }

    /// Best effort: removes what a failed run made, and says so in the reason.
    async fn clean_up(&self, link: &ResolvedLink, reason: String) -> String {
        match remove(&self.connector, link).await {
            Ok(o) if o.statement_count() == 0 => reason,
            Ok(o) => format!(
                "{reason} (what this run had made was removed: {} statement(s))",
                o.statement_count()
            ),
            Err(e) => format!("{reason} (cleaning up also failed: {})", error_chain(&e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_requests_are_still_answered_when_they_say_where() {
        let e = Request::from_value(serde_json::json!({
            "RequestType": "Delete", "ResponseURL": "http://x/y", "RequestId": "r", "PhysicalResourceId": "p"
        }))
        .unwrap_err();
        assert!(e.reason.contains("malformed CloudFormation request"), "{}", e.reason);
        let req = e.answer_to.unwrap();
        assert_eq!(
            (req.kind, identity_on_failure(&req)),
            (RequestKind::Delete, "p".to_string())
        );
        assert!(Request::from_value(serde_json::json!({"x": 1}))
            .unwrap_err()
            .answer_to
            .is_none());
    }

    fn request(kind: RequestKind, physical: Option<&str>) -> Request {
        Request {
            kind,
            request_id: "req-1".into(),
            response_url: "http://127.0.0.1:1/x".into(),
            stack_id: "arn:stack".into(),
            logical_resource_id: "Link".into(),
            physical_resource_id: physical.map(str::to_string),
            properties: Value::Null,
        }
    }

    #[test]
    fn failed_create_gets_a_marked_identity_and_update_keeps_its_own() {
        assert_eq!(
            identity_on_failure(&request(RequestKind::Create, None)),
            "fdw-link-failed/req-1"
        );
        assert_eq!(
            identity_on_failure(&request(RequestKind::Update, Some("fdw-link/a/b/c"))),
            "fdw-link/a/b/c"
        );
    }

    #[test]
    fn events_of_every_kind_are_read() {
        let create: CloudFormationCustomResourceRequest = serde_json::from_value(serde_json::json!({
            "RequestType": "Create", "RequestId": "r", "ResponseURL": "http://x/y", "StackId": "s",
            "ResourceType": "Custom::FdwLink", "LogicalResourceId": "L", "ResourceProperties": {"A": "1"}
        }))
        .unwrap();
        let r = Request::from_event(create).unwrap();
        assert_eq!((r.kind, r.physical_resource_id), (RequestKind::Create, None));
        let delete: CloudFormationCustomResourceRequest = serde_json::from_value(serde_json::json!({
            "RequestType": "Delete", "RequestId": "r", "ResponseURL": "http://x/y", "StackId": "s",
            "ResourceType": "Custom::FdwLink", "LogicalResourceId": "L", "PhysicalResourceId": "p",
            "ResourceProperties": {}
        }))
        .unwrap();
        assert_eq!(
            Request::from_event(delete).unwrap().physical_resource_id.as_deref(),
            Some("p")
        );
    }

    #[test]
    fn response_carries_request_fields_and_strings_only() {
        let req = request(RequestKind::Create, None);
        let a = Answer {
            success: true,
            physical_resource_id: "fdw-link/x".into(),
            reason: "created".into(),
            data: vec![("TableCount".into(), "2".into())],
        };
        let v = serde_json::to_value(a.to_response(&req)).unwrap();
        assert_eq!(v["Status"], "SUCCESS");
        assert_eq!(v["RequestId"], "req-1");
        assert_eq!(v["LogicalResourceId"], "Link");
        assert_eq!(v["Data"]["TableCount"], "2");
    }
}
