//! The AWS services fdw-bridge reads, behind small traits so that unit tests
//! can swap them: Secrets Manager (`secrets`: database secrets), RDS endpoint
//! discovery (`rds`: a cluster's writer and reader endpoints, as the PostgreSQL
//! layer's [`Endpoint`]) and a cluster's instances (`instances`).

mod instances;
mod rds;
mod secrets;

/// Where a cluster listens: the PostgreSQL layer's endpoint, which RDS reports.
pub use fdw_bridge_pg::Endpoint;
pub use instances::{ClusterMember, InstanceError, InstanceSource, RdsInstanceSource};
pub use rds::{ClusterEndpoints, EndpointError, EndpointSource, RdsEndpointSource};
pub use secrets::{DbSecret, SecretError, SecretSource, SecretsManager};

/// An AWS SDK error on one line, with the service's own message when there is one.
pub fn error_text<E, R>(e: &aws_smithy_runtime_api::client::result::SdkError<E, R>) -> String
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    fdw_bridge_pg::error_chain(e)
}
