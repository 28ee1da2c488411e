//! What the handler answers CloudFormation: SUCCESS with the link's identity
//! and data, or FAILED with the reason and an identity its Delete can handle.

use super::Request;
use crate::converge::LinkChanges;
use crate::properties::LinkProperties;
use aws_lambda_events::event::cloudformation::{
    CloudFormationCustomResourceResponse, CloudFormationCustomResourceResponseStatus,
};

/// Identity of a resource whose Create failed: its Delete has nothing to remove.
pub const FAILED_CREATE_PREFIX: &str = "fdw-link-failed/";

/// What to answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub success: bool,
    pub physical_resource_id: String,
    pub reason: String,
    pub data: Vec<(String, String)>,
}

impl Answer {
    pub(super) fn failed(physical_resource_id: String, reason: String) -> Self {
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

pub(super) fn success(props: &LinkProperties, outcome: &LinkChanges, verb: &str) -> Answer {
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

pub(super) fn delete_hint(reason: String, request: &Request) -> String {
    format!(
        "{reason}. Fix the cause and retry the delete; if the cluster is gone for good, delete the stack with \
         --retain-resources {}",
        request.logical_resource_id
    )
}
