//! A CloudFormation custom resource request, read from the event (or, when it
//! is malformed, as much of it as says where to answer FAILED).

use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceRequest;
use serde_json::Value;

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
