//! fdw-report: EventBridge-scheduled cross-database reports.
//! Settings, the catalog and clients are built once here; every decision
//! lives in `fdw_bridge_report`.

use fdw_bridge_aws::RdsEndpointSource;
use fdw_bridge_aws::SecretsManager;
use fdw_bridge_pg::Connector;
use fdw_bridge_report::Catalog;
use fdw_bridge_report::ReportFunction;
use fdw_bridge_report::ReportSettings;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    fdw_bridge_runtime::logging::init();
    let settings = ReportSettings::from_env()?;
    let connector = Connector::with_ca_bundle(&settings.ca_bundle, settings.connect_timeout)?;
    let sdk = aws_config::load_from_env().await;
    let function = ReportFunction {
        connector,
        catalog: Catalog::shipped()?,
        secrets: Arc::new(SecretsManager::new(aws_sdk_secretsmanager::Client::new(&sdk))),
        endpoints: Arc::new(RdsEndpointSource::new(aws_sdk_rds::Client::new(&sdk))),
        settings,
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let function = function.clone();
        async move { function.invoke(&event.payload, &event.context).await }
    }))
    .await
}
