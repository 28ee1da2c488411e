//! fdw-bootstrap: the `Custom::FdwLink` CloudFormation custom resource.
//! Settings and clients are built once here; every decision lives in
//! `fdw_bridge_bootstrap`.

use fdw_bridge_aws::SecretsManager;
use fdw_bridge_aws::{RdsEndpointSource, RdsInstanceSource};
use fdw_bridge_bootstrap::{Bootstrap, InvocationFailed};
use fdw_bridge_pg::Connector;
use fdw_bridge_runtime::deadline::deadline_from_epoch_ms;
use fdw_bridge_runtime::settings::ConnectSettings;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    fdw_bridge_runtime::logging::init();
    let settings = ConnectSettings::from_env()?;
    let connector = Connector::with_ca_bundle(&settings.ca_bundle, settings.connect_timeout)?;
    let sdk = aws_config::load_from_env().await;
    let bootstrap = Bootstrap {
        connector,
        secrets: Arc::new(SecretsManager::new(aws_sdk_secretsmanager::Client::new(&sdk))),
        endpoints: Arc::new(RdsEndpointSource::new(aws_sdk_rds::Client::new(&sdk))),
        instances: Arc::new(RdsInstanceSource::new(aws_sdk_rds::Client::new(&sdk))),
        http: fdw_bridge_bootstrap::http_client()?,
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let bootstrap = bootstrap.clone();
        async move { handle(&bootstrap, event).await }
    }))
    .await
}

/// Answers CloudFormation, or refreshes the stored links. Fails only when no
/// answer could be delivered to CloudFormation (Lambda's retry may then deliver
/// it) or a link could not be refreshed; Lambda reports the failure with its
/// errorType (InvalidEvent, ResponseUndeliverable, RefreshFailed, ...).
async fn handle(bootstrap: &Bootstrap, event: LambdaEvent<Value>) -> Result<Value, InvocationFailed> {
    let deadline = tokio::time::Instant::from_std(deadline_from_epoch_ms(event.context.deadline));
    bootstrap.handle_invocation(event.payload, deadline).await
}
