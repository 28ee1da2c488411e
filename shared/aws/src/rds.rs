//! Where a cluster is: an explicit endpoint, or the writer/reader endpoint that
//! RDS DescribeDBClusters reports for a cluster identifier.

use async_trait::async_trait;
use fdw_bridge_pg::Endpoint;
use fdw_bridge_pg::DEFAULT_PORT;

/// The endpoints of one Aurora cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterEndpoints {
    pub writer: Endpoint,
    pub reader: Option<Endpoint>,
}

#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    #[error(
        "DB cluster {cluster} was not found by RDS DescribeDBClusters: check the cluster identifier and the region"
    )]
    NotFound { cluster: String },
    #[error("DB cluster {cluster} has no endpoint yet (status {status}): wait until it is available")]
    NoEndpoint { cluster: String, status: String },
    #[error("RDS DescribeDBClusters for {cluster} failed: {reason} (in a VPC, the function needs an RDS interface endpoint or NAT)")]
    Unavailable { cluster: String, reason: String },
}

#[async_trait]
pub trait EndpointSource: Send + Sync {
    async fn cluster_endpoints(&self, cluster_id: &str) -> Result<ClusterEndpoints, EndpointError>;
}

/// RDS DescribeDBClusters through the AWS SDK.
#[derive(Clone)]
pub struct RdsEndpointSource {
    client: aws_sdk_rds::Client,
}

impl RdsEndpointSource {
    pub fn new(client: aws_sdk_rds::Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl EndpointSource for RdsEndpointSource {
    async fn cluster_endpoints(&self, cluster_id: &str) -> Result<ClusterEndpoints, EndpointError> {
        let cluster = match describe_cluster(&self.client, cluster_id).await {
            Ok(Some(cluster)) => cluster,
            Ok(None) => {
                return Err(EndpointError::NotFound {
                    cluster: cluster_id.to_string(),
                })
            }
            Err(reason) => {
                return Err(EndpointError::Unavailable {
                    cluster: cluster_id.to_string(),
                    reason,
                })
            }
        };
        let port = cluster
            .port()
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or(DEFAULT_PORT);
        let writer = cluster.endpoint().ok_or_else(|| EndpointError::NoEndpoint {
            cluster: cluster_id.to_string(),
            status: cluster.status().unwrap_or("unknown").to_string(),
        })?;
        Ok(ClusterEndpoints {
            writer: Endpoint {
                host: writer.to_string(),
                port,
            },
            reader: cluster.reader_endpoint().map(|h| Endpoint {
                host: h.to_string(),
                port,
            }),
        })
    }
}

/// DescribeDBClusters for one cluster: None when RDS does not know it, the
/// call's error on one line when it failed.
pub(crate) async fn describe_cluster(
    client: &aws_sdk_rds::Client,
    cluster_id: &str,
) -> Result<Option<aws_sdk_rds::types::DbCluster>, String> {
    use aws_sdk_rds::error::SdkError;
    use aws_sdk_rds::operation::describe_db_clusters::DescribeDBClustersError;
    match client
        .describe_db_clusters()
        .db_cluster_identifier(cluster_id)
        .send()
        .await
    {
        Ok(out) => Ok(out.db_clusters().first().cloned()),
        Err(SdkError::ServiceError(se)) if matches!(se.err(), DescribeDBClustersError::DbClusterNotFoundFault(_)) => {
            Ok(None)
        }
        Err(e) => Err(crate::error_text(&e)),
    }
}
