//! The AWS services the link needs, unreachable (as from a private subnet with
//! no interface endpoint and no NAT): Secrets Manager, and RDS for a
//! ClusterIdentifier. Create answers FAILED in time, naming the property, the
//! service and what to check; nothing is made on either cluster.

use fdw_bridge::aws::{RdsEndpointSource, RdsInstanceSource, SecretsManager};
use fdw_bridge::bootstrap::{http_client, Bootstrap};
use fdw_bridge_testkit as harness;
use harness::{unique, Stack};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A port on loopback nothing listens on (bound, then released).
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// The real handler, with its Secrets Manager or RDS client pointed at a closed port.
async fn bootstrap_without(stack: &Stack, secrets_down: bool, rds_down: bool) -> Bootstrap {
    let up = aws_config::load_from_env().await;
    let down = aws_config::from_env()
        .endpoint_url(format!("http://127.0.0.1:{}", closed_port()))
        .load()
        .await;
    let sdk = |is_down: bool| if is_down { &down } else { &up };
    Bootstrap {
        connector: stack.connector(),
        secrets: Arc::new(SecretsManager::new(aws_sdk_secretsmanager::Client::new(sdk(
            secrets_down,
        )))),
        endpoints: Arc::new(RdsEndpointSource::new(aws_sdk_rds::Client::new(sdk(rds_down)))),
        instances: Arc::new(RdsInstanceSource::new(aws_sdk_rds::Client::new(sdk(rds_down)))),
        http: http_client().unwrap(),
    }
}

#[tokio::test]
async fn secrets_manager_or_rds_unreachable_fails_the_create_naming_the_service() {
    let stack = Stack::get();
    let _turn = stack.shared().await;
    let fdw_user = unique("fdw_down");
    let secret = stack.fdw_secret(&fdw_user, "down-pw").await;

    let server = unique("sm_down_link");
    let schema = unique("sm_down_remote");
    let props = stack.properties(&server, &schema, &secret);
    let started = Instant::now();
    let failed = stack
        .request(&bootstrap_without(stack, true, false).await, "Create", None, &props)
        .await;
    failed.assert_failed_with(&["LocalCluster.AdminSecretArn", "Secrets Manager", "interface endpoint"]);
    assert!(started.elapsed() < Duration::from_secs(40), "{:?}", started.elapsed());
    harness::assert_link_gone(stack, &server, &schema, &fdw_user).await;

    // RDS DescribeDBClusters for the remote cluster's ClusterIdentifier (no explicit Endpoint).
    let server = unique("rds_down_link");
    let schema = unique("rds_down_remote");
    let mut props = stack.properties(&server, &schema, &secret);
    if let Some(remote) = props["RemoteCluster"].as_object_mut() {
        remote.remove("Endpoint");
        remote.remove("Port");
    }
    let failed = stack
        .request(&bootstrap_without(stack, false, true).await, "Create", None, &props)
        .await;
    failed.assert_failed_with(&[
        "RemoteCluster.ClusterIdentifier",
        "RDS DescribeDBClusters",
        "interface endpoint",
    ]);
    harness::assert_link_gone(stack, &server, &schema, &fdw_user).await;
}
