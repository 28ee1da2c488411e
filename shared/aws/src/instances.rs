//! The DB instances of an Aurora cluster, for removing the readers Aurora Auto
//! Scaling made before the cluster is deleted: RDS DescribeDBClusters (its
//! members), DescribeDBInstances (one instance's status) and DeleteDBInstance.

use crate::rds::describe_cluster;
use async_trait::async_trait;

/// One instance of a cluster, as DescribeDBClusters lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterMember {
    pub instance_id: String,
    pub is_writer: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum InstanceError {
    #[error("DB cluster {cluster} was not found by RDS DescribeDBClusters")]
    ClusterNotFound { cluster: String },
    /// The instance cannot be deleted in its current state (e.g. still being created).
    #[error("DB instance {instance} cannot be deleted now: {reason}")]
    Busy { instance: String, reason: String },
    #[error("RDS {call} for {id} failed: {reason} (the function's role needs rds:DescribeDBClusters on the cluster and rds:DescribeDBInstances, rds:DeleteDBInstance on db:application-autoscaling-*; in a VPC, an RDS interface endpoint or NAT)")]
    Unavailable {
        call: &'static str,
        id: String,
        reason: String,
    },
}

#[async_trait]
pub trait InstanceSource: Send + Sync {
    async fn cluster_members(&self, cluster_id: &str) -> Result<Vec<ClusterMember>, InstanceError>;
    /// The instance's status ("available", "creating", "deleting", ...); None when it is gone.
    async fn instance_status(&self, instance_id: &str) -> Result<Option<String>, InstanceError>;
    /// Starts deleting the instance; a gone instance is not an error.
    async fn delete_instance(&self, instance_id: &str) -> Result<(), InstanceError>;
}

/// RDS through the AWS SDK.
#[derive(Clone)]
pub struct RdsInstanceSource {
    client: aws_sdk_rds::Client,
}

impl RdsInstanceSource {
    pub fn new(client: aws_sdk_rds::Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl InstanceSource for RdsInstanceSource {
    async fn cluster_members(&self, cluster_id: &str) -> Result<Vec<ClusterMember>, InstanceError> {
        let cluster = match describe_cluster(&self.client, cluster_id).await {
            Ok(Some(cluster)) => cluster,
            Ok(None) => {
                return Err(InstanceError::ClusterNotFound {
                    cluster: cluster_id.to_string(),
                })
            }
            Err(reason) => {
                return Err(InstanceError::Unavailable {
                    call: "DescribeDBClusters",
                    id: cluster_id.to_string(),
                    reason,
                })
            }
        };
        Ok(cluster
            .db_cluster_members()
            .iter()
            .filter_map(|m| {
                Some(ClusterMember {
                    instance_id: m.db_instance_identifier()?.to_string(),
                    is_writer: m.is_cluster_writer().unwrap_or(false),
                })
            })
            .collect())
    }

    async fn instance_status(&self, instance_id: &str) -> Result<Option<String>, InstanceError> {
        use aws_sdk_rds::error::SdkError;
        use aws_sdk_rds::operation::describe_db_instances::DescribeDBInstancesError;
        match self
            .client
            .describe_db_instances()
            .db_instance_identifier(instance_id)
            .send()
            .await
        {
            Ok(out) => Ok(out
                .db_instances()
                .first()
                .map(|i| i.db_instance_status().unwrap_or("unknown").to_string())),
            Err(SdkError::ServiceError(se))
                if matches!(se.err(), DescribeDBInstancesError::DbInstanceNotFoundFault(_)) =>
            {
                Ok(None)
            }
            Err(e) => Err(InstanceError::Unavailable {
                call: "DescribeDBInstances",
                id: instance_id.to_string(),
                reason: crate::error_text(&e),
            }),
        }
    }

    async fn delete_instance(&self, instance_id: &str) -> Result<(), InstanceError> {
        use aws_sdk_rds::error::SdkError;
        use aws_sdk_rds::operation::delete_db_instance::DeleteDBInstanceError;
        match self
            .client
            .delete_db_instance()
            .db_instance_identifier(instance_id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(se)) => match se.err() {
                DeleteDBInstanceError::DbInstanceNotFoundFault(_) => Ok(()),
                DeleteDBInstanceError::InvalidDbInstanceStateFault(f) => Err(InstanceError::Busy {
                    instance: instance_id.to_string(),
                    reason: f.message().unwrap_or("InvalidDBInstanceState").to_string(),
                }),
                other => Err(InstanceError::Unavailable {
                    call: "DeleteDBInstance",
                    id: instance_id.to_string(),
                    reason: fdw_bridge_pg::error_chain(other),
                }),
            },
            Err(e) => Err(InstanceError::Unavailable {
                call: "DeleteDBInstance",
                id: instance_id.to_string(),
                reason: crate::error_text(&e),
            }),
        }
    }
}
