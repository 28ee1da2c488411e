//! `Custom::AuroraReplicaCleanup`: on Delete, removes the readers Aurora Auto
//! Scaling added to a cluster, so that the stack's delete of the cluster does
//! not fail. CloudFormation's DBCluster delete calls DeleteDBCluster only, RDS
//! refuses a cluster that still holds instances that are not being deleted, and
//! those readers are not the stack's resources (Aurora names them
//! `application-autoscaling-...`; deregistering the scalable target leaves them).
//! The template deletes the scaling policy and target before this resource
//! (they depend on it), and the cluster and its own instances after it.
//! Create and Update only check the properties.

use super::custom_resource::{identity_on_failure, Answer, Request, RequestKind};
use super::properties::{scalar_string, unknown_keys};
use fdw_bridge_aws::{ClusterMember, InstanceError, InstanceSource};
use serde_json::Value;
use std::time::Duration;
use tokio::time::Instant;

/// The resource type this module answers for.
pub const RESOURCE_TYPE: &str = "Custom::AuroraReplicaCleanup";
/// How Aurora Auto Scaling names the replicas it adds.
pub const AUTO_SCALED_PREFIX: &str = "application-autoscaling-";
const KNOWN: &[&str] = &["ServiceToken", "ServiceTimeout", "ClusterIdentifier"];
const POLL: Duration = Duration::from_secs(5);

/// Whether a Lambda event is a CloudFormation request for this resource type.
pub fn is_cleanup_request(event: &Value) -> bool {
    event.get("ResourceType").and_then(Value::as_str) == Some(RESOURCE_TYPE)
}

/// The cluster the properties name, or every problem found.
pub fn cluster_of(properties: &Value) -> Result<String, String> {
    let mut errors = Vec::new();
    let Some(object) = properties.as_object() else {
        return Err(format!(
            "invalid {RESOURCE_TYPE} properties: ResourceProperties must be an object"
        ));
    };
    unknown_keys(object, KNOWN, "", &mut errors);
    let cluster = match object.get("ClusterIdentifier") {
        None => {
            errors.push(
                "missing property ClusterIdentifier (the Aurora cluster whose auto-scaled readers to remove)".into(),
            );
            None
        }
        Some(v) => scalar_string(v, "ClusterIdentifier", &mut errors).filter(|s| {
            let ok = !s.is_empty();
            if !ok {
                errors.push("ClusterIdentifier is empty".into());
            }
            ok
        }),
    };
    match cluster {
        Some(c) if errors.is_empty() => Ok(c),
        _ => Err(format!("invalid {RESOURCE_TYPE} properties: {}", errors.join("; "))),
    }
}

/// The instances Aurora Auto Scaling added, readers first (the Aurora User Guide's
/// order: readers, then the writer); one of them is the writer after a failover
/// to it, and is removed last so that the stack's own instances take over.
/// Never an instance named otherwise.
pub fn auto_scaled(members: &[ClusterMember]) -> Vec<String> {
    let mut ours: Vec<&ClusterMember> = members
        .iter()
        .filter(|m| m.instance_id.starts_with(AUTO_SCALED_PREFIX))
        .collect();
    ours.sort_by_key(|m| m.is_writer);
    ours.into_iter().map(|m| m.instance_id.clone()).collect()
}

const ID_PREFIX: &str = "aurora-replica-cleanup/";

fn physical_id(cluster: &str) -> String {
    format!("{ID_PREFIX}{cluster}")
}

/// Whether the resource's Create had succeeded (it answered this module's identity).
fn made(request: &Request) -> bool {
    request
        .physical_resource_id
        .as_deref()
        .is_some_and(|p| p.starts_with(ID_PREFIX))
}

/// The answer to one request; on Delete, every auto-scaled reader of the
/// cluster is being deleted (or gone) before SUCCESS, retried until `until`.
pub async fn answer(request: &Request, instances: &dyn InstanceSource, until: Instant) -> Answer {
    let cluster = match cluster_of(&request.properties) {
        Ok(c) => c,
        // A Delete of a resource whose Create was refused has nothing to clean.
        Err(_) if request.kind == RequestKind::Delete && !made(request) => {
            return succeeded(
                identity_on_failure(request),
                "nothing to remove: the Create had failed".into(),
            );
        }
        Err(reason) => return failed(identity_on_failure(request), reason),
    };
    let id = physical_id(&cluster);
    if request.kind != RequestKind::Delete {
        return succeeded(
            id,
            format!("will remove the auto-scaled readers of {cluster} when deleted"),
        );
    }
    // Delete of an identity that is no longer this cluster's (an Update moved the
    // resource): the old cluster is the one to clean.
    let cluster = request
        .physical_resource_id
        .as_deref()
        .and_then(|p| p.strip_prefix(ID_PREFIX))
        .unwrap_or(&cluster)
        .to_string();
    match remove_auto_scaled(&cluster, instances, until).await {
        Ok(removed) if removed.is_empty() => succeeded(id, format!("cluster {cluster} has no auto-scaled readers")),
        Ok(removed) => succeeded(
            id,
            format!("deleting the auto-scaled readers of {cluster}: {}", removed.join(", ")),
        ),
        Err(reason) => failed(id, reason),
    }
}

/// Starts deleting each auto-scaled reader and waits until each is deleting or gone.
async fn remove_auto_scaled(
    cluster: &str,
    instances: &dyn InstanceSource,
    until: Instant,
) -> Result<Vec<String>, String> {
    let members = match instances.cluster_members(cluster).await {
        Ok(m) => m,
        Err(InstanceError::ClusterNotFound { .. }) => return Ok(Vec::new()),
        Err(e) => return Err(format!("cannot list the instances of cluster {cluster}: {e}")),
    };
    let ours = auto_scaled(&members);
    let mut pending = ours.clone();
    loop {
        let mut still = Vec::new();
        for id in &pending {
            match instances.instance_status(id).await {
                Ok(None) => continue,
                Ok(Some(status)) if status == "deleting" => continue,
                Ok(Some(_)) => {}
                Err(e) => return Err(e.to_string()),
            }
            match instances.delete_instance(id).await {
                Ok(()) => tracing::info!(cluster, instance = %id, "deleting an auto-scaled reader"),
                // Still being created or modified by Aurora Auto Scaling: tried again.
                Err(InstanceError::Busy { reason, .. }) => still.push((id.clone(), reason)),
                Err(e) => return Err(e.to_string()),
            }
        }
        if still.is_empty() {
            return Ok(ours);
        }
        if Instant::now() + POLL >= until {
            let named: Vec<String> = still.iter().map(|(id, why)| format!("{id} ({why})")).collect();
            return Err(format!(
                "auto-scaled readers of cluster {cluster} could not be deleted before the function's timeout: {}. \
                 Delete them (aws rds delete-db-instance), then retry the stack delete",
                named.join(", ")
            ));
        }
        pending = still.into_iter().map(|(id, _)| id).collect();
        tokio::time::sleep(POLL).await;
    }
}

fn succeeded(physical_resource_id: String, reason: String) -> Answer {
    Answer {
        success: true,
        physical_resource_id,
        reason,
        data: Vec::new(),
    }
}

pub(super) fn failed(physical_resource_id: String, reason: String) -> Answer {
    Answer {
        success: false,
        physical_resource_id,
        reason,
        data: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str, is_writer: bool) -> ClusterMember {
        ClusterMember {
            instance_id: id.into(),
            is_writer,
        }
    }

    #[test]
    fn only_readers_aurora_auto_scaling_named_are_removed() {
        let members = [
            member("application-autoscaling-9f", true),
            member("users-writer", false),
            member("users-reader", false),
            member("application-autoscaling-1a2b3c", false),
        ];
        assert_eq!(
            auto_scaled(&members),
            ["application-autoscaling-1a2b3c", "application-autoscaling-9f"]
        );
    }

    #[test]
    fn properties_name_the_cluster_and_nothing_else() {
        assert_eq!(
            cluster_of(&serde_json::json!({"ServiceToken": "arn:x", "ClusterIdentifier": "users"})).unwrap(),
            "users"
        );
        let e = cluster_of(&serde_json::json!({"Cluster": "users"})).unwrap_err();
        assert!(
            e.contains("unknown property Cluster") && e.contains("missing property ClusterIdentifier"),
            "{e}"
        );
    }

    #[test]
    fn cleanup_requests_are_told_apart_by_resource_type() {
        assert!(is_cleanup_request(&serde_json::json!({"ResourceType": RESOURCE_TYPE})));
        assert!(!is_cleanup_request(
            &serde_json::json!({"ResourceType": "Custom::FdwLink"})
        ));
        assert!(!is_cleanup_request(&serde_json::json!({"Action": "Refresh"})));
    }
}
