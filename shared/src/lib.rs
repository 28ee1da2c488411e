//! fdw-bridge's library: everything the three Lambda functions decide and do.
//!
//! Pure parts (planning SQL, parsing properties) never touch I/O; the I/O parts
//! sit behind small traits ([`secret::SecretSource`], [`endpoint::EndpointSource`])
//! whose real adapters use the AWS SDK.

pub mod bootstrap;
pub mod connect;
pub mod endpoint;
pub mod iam_auth;
pub mod link;
pub mod logging;
pub mod pg_error;
pub mod report;
pub mod rotate;
pub mod secret;
pub mod settings;
pub mod sql;
pub mod tls;

/// An AWS SDK error on one line, with the service's own message when there is one.
pub(crate) fn aws_error_text<E, R>(e: &aws_smithy_runtime_api::client::result::SdkError<E, R>) -> String
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    connect::error_chain(e)
}
