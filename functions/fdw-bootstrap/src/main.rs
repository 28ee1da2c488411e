//! fdw-bootstrap: the `Custom::FdwLink` CloudFormation custom resource.
//! Settings and clients are built once here; every decision lives in
//! `fdw_bridge::bootstrap`.

use fdw_bridge::bootstrap::custom_resource::{deadline_from_epoch_ms, Bootstrap, Request, Unreadable};
use fdw_bridge::connect::Connector;
use fdw_bridge::endpoint::RdsEndpointSource;
use fdw_bridge::secret::SecretsManagerSource;
use fdw_bridge::settings::Settings;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    fdw_bridge::logging::init();
    let settings = Settings::from_env()?;
    let tls = fdw_bridge::tls::client_config(&settings.ca_bundle)?;
    let sdk = aws_config::load_from_env().await;
    let bootstrap = Bootstrap {
        connector: Connector::new(tls, settings.connect_timeout),
        secrets: Arc::new(SecretsManagerSource::new(aws_sdk_secretsmanager::Client::new(&sdk))),
        endpoints: Arc::new(RdsEndpointSource::new(aws_sdk_rds::Client::new(&sdk))),
        http: fdw_bridge::bootstrap::response::http_client()?,
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let bootstrap = bootstrap.clone();
        async move { handle(&bootstrap, event).await }
    }))
    .await
}

/// Answers CloudFormation; returns an error only when the answer could not be
/// delivered (Lambda's retry may then deliver it).
async fn handle(bootstrap: &Bootstrap, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let deadline = deadline_from_epoch_ms(event.context.deadline);
    let answer = match Request::from_value(event.payload) {
        Ok(request) => bootstrap.handle(&request, deadline).await?,
        Err(Unreadable {
            reason,
            answer_to: Some(request),
        }) => bootstrap.refuse(&request, reason, deadline).await?,
        Err(Unreadable {
            reason,
            answer_to: None,
        }) => return Err(reason.into()),
    };
    Ok(serde_json::json!({
        "Status": if answer.success { "SUCCESS" } else { "FAILED" },
        "PhysicalResourceId": answer.physical_resource_id,
        "Reason": answer.reason,
    }))
}
