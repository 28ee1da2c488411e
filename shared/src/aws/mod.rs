//! The AWS services fdw-bridge reads, behind small traits so that unit tests
//! can swap them: Secrets Manager ([`secrets`]), RDS endpoint discovery ([`rds`])
//! and a cluster's instances ([`instances`]).

pub(crate) mod instances;
pub(crate) mod rds;
pub(crate) mod secrets;

pub use instances::{ClusterMember, InstanceError, InstanceSource, RdsInstanceSource};
pub use rds::{ClusterEndpoints, Endpoint, EndpointError, EndpointSource, RdsEndpointSource};
pub use secrets::{DbSecret, SecretError, SecretSource, SecretsManagerSource};

/// An AWS SDK error on one line, with the service's own message when there is one.
pub(crate) fn error_text<E, R>(e: &aws_smithy_runtime_api::client::result::SdkError<E, R>) -> String
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    crate::pg::error_chain(e)
}
