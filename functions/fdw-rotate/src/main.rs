//! fdw-rotate: Secrets Manager rotation of the FDW role's password.
//! Settings and clients are built once here; every decision lives in
//! `fdw_bridge::rotate`.

use aws_lambda_events::event::secretsmanager::SecretsManagerSecretRotationEvent;
use fdw_bridge::aws::SecretsManagerSource;
use fdw_bridge::pg::Connector;
use fdw_bridge::rotate::Rotator;
use fdw_bridge::rotate::SecretsManagerStore;
use fdw_bridge::settings::ConnectSettings;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    fdw_bridge::logging::init();
    let settings = ConnectSettings::from_env()?;
    let connector = Connector::with_ca_bundle(&settings.ca_bundle, settings.connect_timeout)?;
    let sdk = aws_config::load_from_env().await;
    let client = aws_sdk_secretsmanager::Client::new(&sdk);
    let rotator = Rotator {
        connector,
        store: Arc::new(SecretsManagerStore::new(client.clone())),
        secrets: Arc::new(SecretsManagerSource::new(client)),
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<SecretsManagerSecretRotationEvent>| {
        let rotator = rotator.clone();
        async move { handle(&rotator, event.payload).await }
    }))
    .await
}

/// A failed step is an error for Secrets Manager, which retries the rotation.
async fn handle(rotator: &Rotator, event: SecretsManagerSecretRotationEvent) -> Result<Value, Error> {
    match rotator
        .handle(&event.step, &event.secret_id, &event.client_request_token)
        .await
    {
        Ok(outcome) => Ok(serde_json::json!({ "Step": event.step, "Result": outcome.did })),
        Err(e) => {
            let text = format!("{} for secret {} failed: {e}", event.step, event.secret_id);
            tracing::error!("{text}");
            Err(text.into())
        }
    }
}
