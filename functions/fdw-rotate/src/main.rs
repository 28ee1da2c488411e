//! fdw-rotate: Secrets Manager rotation of the FDW role's password.
//! Settings and clients are built once here; every decision lives in
//! `fdw_bridge_rotate`.

use fdw_bridge_aws::SecretsManager;
use fdw_bridge_pg::Connector;
use fdw_bridge_rotate::Rotator;
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
    // One Secrets Manager client: the rotation store and the reader of the admin secrets.
    let secrets = Arc::new(SecretsManager::new(aws_sdk_secretsmanager::Client::new(&sdk)));
    let rotator = Rotator {
        connector,
        store: secrets.clone(),
        secrets,
    };
    // The event is read by the library, so a malformed one is an InvalidEvent.
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let rotator = rotator.clone();
        let deadline = fdw_bridge_runtime::deadline::deadline_from_epoch_ms(event.context.deadline);
        async move { rotator.handle_event(&event.payload, deadline).await }
    }))
    .await
}
