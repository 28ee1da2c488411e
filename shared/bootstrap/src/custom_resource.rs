//! `Custom::FdwLink`: one CloudFormation request in, exactly one response out,
//! SUCCESS or FAILED, before the Lambda deadline.

use super::converge::{converge, remove, ConvergeMode, LinkChanges};
use super::prerequisites;
use super::properties::{self, LinkProperties};
use super::resolve::{registration, resolve_link, ResolvedLink};
use super::response::{deliver, url_host, DeliveryError};
use aws_lambda_events::event::cloudformation::{
    CloudFormationCustomResourceRequest, CloudFormationCustomResourceResponse,
    CloudFormationCustomResourceResponseStatus,
};
use fdw_bridge_aws::EndpointSource;
use fdw_bridge_aws::InstanceSource;
use fdw_bridge_aws::SecretSource;
use fdw_bridge_pg::{error_chain, Connector};
use fdw_bridge_runtime::retry::{last_attempt_start, retry, Retrier};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Identity of a resource whose Create failed: its Delete has nothing to remove.
pub const FAILED_CREATE_PREFIX: &str = "fdw-link-failed/";

/// Time kept back from the Lambda deadline to deliver the response.
pub const RESPONSE_MARGIN: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestKind {
    Create,
    Update,
    Delete,
}

/// The fields of a CloudFormation request that the handler uses.
#[derive(Clone, Debug)]
pub struct Request {
    pub kind: RequestKind,
    pub request_id: String,
    pub response_url: String,
    pub stack_id: String,
    pub logical_resource_id: String,
    /// None on Create.
    pub physical_resource_id: Option<String>,
    pub properties: Value,
}

impl Request {
    /// Reads a request. When the event is malformed but still says where to
    /// answer, the error carries a request to answer FAILED to: CloudFormation
    /// would otherwise wait an hour.
    pub fn from_value(event: Value) -> Result<Self, Unreadable> {
        match serde_json::from_value::<CloudFormationCustomResourceRequest>(event.clone()) {
            Ok(parsed) => Self::from_event(parsed).ok_or_else(|| Unreadable {
                reason: "unsupported RequestType".into(),
                answer_to: None,
            }),
            Err(e) => {
                let field = |k: &str| event.get(k).and_then(Value::as_str).map(str::to_string);
                let reason = format!("malformed CloudFormation request: {e}");
                let answerable = field("ResponseURL").map(|response_url| Self {
                    kind: match field("RequestType").as_deref() {
                        Some("Delete") => RequestKind::Delete,
                        Some("Update") => RequestKind::Update,
                        _ => RequestKind::Create,
                    },
                    request_id: field("RequestId").unwrap_or_default(),
                    response_url,
                    stack_id: field("StackId").unwrap_or_default(),
                    logical_resource_id: field("LogicalResourceId").unwrap_or_default(),
                    physical_resource_id: field("PhysicalResourceId"),
                    properties: Value::Null,
                });
                Err(Unreadable {
                    reason,
                    answer_to: answerable.map(Box::new),
                })
            }
        }
    }

    pub fn from_event(event: CloudFormationCustomResourceRequest) -> Option<Self> {
        use CloudFormationCustomResourceRequest as R;
        Some(match event {
            R::Create(c) => Self {
                kind: RequestKind::Create,
                request_id: c.request_id,
                response_url: c.response_url,
                stack_id: c.stack_id,
                logical_resource_id: c.logical_resource_id,
                physical_resource_id: None,
                properties: c.resource_properties,
            },
            R::Update(u) => Self {
                kind: RequestKind::Update,
                request_id: u.request_id,
                response_url: u.response_url,
                stack_id: u.stack_id,
                logical_resource_id: u.logical_resource_id,
                physical_resource_id: Some(u.physical_resource_id),
                properties: u.resource_properties,
            },
            R::Delete(d) => Self {
                kind: RequestKind::Delete,
                request_id: d.request_id,
                response_url: d.response_url,
                stack_id: d.stack_id,
                logical_resource_id: d.logical_resource_id,
                physical_resource_id: Some(d.physical_resource_id),
                properties: d.resource_properties,
            },
            _ => return None,
        })
    }
}

/// A request that could not be read, and where to answer FAILED when it says so.
#[derive(Debug)]
pub struct Unreadable {
    pub reason: String,
    pub answer_to: Option<Box<Request>>,
}

/// Why an event got no answer to CloudFormation.
#[derive(Debug, thiserror::Error)]
pub enum EventNotAnswered {
    #[error("{0}: the event has no ResponseURL, so CloudFormation cannot be answered")]
    NoResponseUrl(String),
    #[error(transparent)]
    Delivery(#[from] DeliveryError),
}

/// What to answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub success: bool,
    pub physical_resource_id: String,
    pub reason: String,
    pub data: Vec<(String, String)>,
}

impl Answer {
    fn failed(physical_resource_id: String, reason: String) -> Self {
        Self {
            success: false,
            physical_resource_id,
            reason,
            data: Vec::new(),
        }
    }

    pub fn to_response(&self, request: &Request) -> CloudFormationCustomResourceResponse {
        let mut r = CloudFormationCustomResourceResponse::default();
        r.status = if self.success {
            CloudFormationCustomResourceResponseStatus::Success
        } else {
            CloudFormationCustomResourceResponseStatus::Failed
        };
        r.reason = Some(self.reason.clone());
        r.physical_resource_id = self.physical_resource_id.clone();
        r.stack_id = request.stack_id.clone();
        r.request_id = request.request_id.clone();
        r.logical_resource_id = request.logical_resource_id.clone();
        r.data = self.data.iter().cloned().collect();
        r
    }
}

/// The identity to answer when the work fails or runs out of time: the old one on
/// Update and Delete (nothing changed), a marked one on Create (so that its Delete succeeds).
pub fn identity_on_failure(request: &Request) -> String {
    request
        .physical_resource_id
        .clone()
        .unwrap_or_else(|| format!("{FAILED_CREATE_PREFIX}{}", request.request_id))
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

fn success(props: &LinkProperties, outcome: &LinkChanges, verb: &str) -> Answer {
    Answer {
        success: true,
        physical_resource_id: props.physical_id(),
        reason: format!(
            "{verb}: {} statement(s) on the remote cluster, {} on the local cluster; {} foreign table(s) through server {}",
            outcome.remote.len(),
            outcome.local.len(),
            outcome.table_count,
            props.server_name
        ),
        data: vec![
            ("ServerName".into(), props.server_name.clone()),
            // The whole list is in the log; Data must stay well inside the 4 KB body.
            (
                "SkippedTables".into(),
                fdw_bridge_pg::shorten(&outcome.skipped.join(", "), 1024),
            ),
            ("TableCount".into(), outcome.table_count.to_string()),
            ("StatementsApplied".into(), outcome.statement_count().to_string()),
            (
                "LocalSchemas".into(),
                props
                    .imports
                    .iter()
                    .map(|i| i.local_schema.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
            ),
        ],
    }
}

fn delete_hint(reason: String, request: &Request) -> String {
    format!(
        "{reason}. Fix the cause and retry the delete; if the cluster is gone for good, delete the stack with \
         --retain-resources {}",
        request.logical_resource_id
    )
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
