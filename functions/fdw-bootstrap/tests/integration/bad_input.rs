//! Bad input ends in a FAILED response that names the cause, within 30 s,
//! and leaves nothing behind. A cluster that does not answer may be failing
//! over, so it is waited for until the invocation's time runs out, and the
//! Reason says for how long.

use fdw_bridge_testkit as harness;

use harness::{unique, Stack};
use serde_json::json;
use std::time::Duration;

const LAMBDA_TIMEOUT: Duration = Duration::from_secs(60);
/// For a cluster that never answers: 10 s kept back to answer, one 5 s
/// connect bound and 2 s for the last attempt, then 3 s of retrying.
const UNANSWERED_TIMEOUT: Duration = Duration::from_secs(20);

/// Sends a Create, expects FAILED naming `needles`, then checks that the
/// failed identity's Delete succeeds and nothing was made: not the server or
/// local schema the properties name, not the FDW role `fdw_user` of their secret.
async fn create_fails(props: serde_json::Value, fdw_user: &str, needles: &[&str]) {
    let stack = Stack::get();
    create_fails_with(&stack.bootstrap().await, props, fdw_user, needles).await;
}

async fn create_fails_with(
    bootstrap: &fdw_bridge::bootstrap::Bootstrap,
    props: serde_json::Value,
    fdw_user: &str,
    needles: &[&str],
) {
    create_fails_within(bootstrap, LAMBDA_TIMEOUT, props, fdw_user, needles).await;
}

async fn create_fails_within(
    bootstrap: &fdw_bridge::bootstrap::Bootstrap,
    lambda_timeout: Duration,
    props: serde_json::Value,
    fdw_user: &str,
    needles: &[&str],
) {
    let stack = Stack::get();
    let got = stack
        .invoke(
            bootstrap,
            stack.event("Create", &unique("bad"), None, &props),
            lambda_timeout,
        )
        .await;
    got.assert_failed_with(needles);
    let id = got.answer.physical_resource_id.clone();
    assert!(id.starts_with("fdw-link-failed/"), "{id}");
    let deleted = stack
        .invoke(
            bootstrap,
            stack.event("Delete", &unique("bad-delete"), Some(&id), &props),
            LAMBDA_TIMEOUT,
        )
        .await;
    deleted.assert_success();
    let server = props["ServerName"]
        .as_str()
        .expect("every bad-input case keeps ServerName: the clean-up check looks for it");
    let schema = props["ImportSchemas"][0]["LocalSchema"]
        .as_str()
        .expect("every bad-input case keeps ImportSchemas[0].LocalSchema: the clean-up check looks for it");
    harness::assert_link_gone(stack, server, schema, fdw_user).await;
}

async fn valid_props(tag: &str) -> (serde_json::Value, String) {
    let stack = Stack::get();
    let user = unique(&format!("fdw_{tag}"));
    let secret = stack.fdw_secret(&user, &format!("{tag}-pw")).await;
    (stack.properties(&unique(tag), &unique(tag), &secret), user)
}

#[tokio::test]
async fn missing_property_is_named() {
    let _turn = Stack::get().shared().await;
    let (mut props, user) = valid_props("missing").await;
    props.as_object_mut().unwrap().remove("FdwRoleSecretArn");
    props["RemoteCluster"].as_object_mut().unwrap().remove("Database");
    create_fails(
        props,
        &user,
        &[
            "missing property FdwRoleSecretArn",
            "missing property RemoteCluster.Database",
        ],
    )
    .await;
}

#[tokio::test]
async fn unknown_property_is_named_with_the_known_ones() {
    let _turn = Stack::get().shared().await;
    let (mut props, user) = valid_props("unknown").await;
    props["ServerOptions"]["FetchSise"] = json!("100");
    create_fails(props, &user, &["unknown property ServerOptions.FetchSise", "FetchSize"]).await;
}

#[tokio::test]
async fn overlong_name_is_refused_before_any_sql() {
    let _turn = Stack::get().shared().await;
    let (mut props, user) = valid_props("long").await;
    props["ImportSchemas"][0]["LocalSchema"] = json!("s".repeat(200));
    create_fails(props, &user, &["ImportSchemas[0].LocalSchema is 200 bytes long"]).await;
}

#[tokio::test]
async fn wrong_admin_password_names_role_cluster_and_secret() {
    let stack = Stack::get();
    let _turn = stack.shared().await;
    let (mut props, user) = valid_props("wrongpw").await;
    let bad = stack
        .aws
        .put_secret(
            &format!("fdw-bridge-test/{}", unique("bad-admin")),
            json!({"username": "orders_admin", "password": "not-the-password"}),
        )
        .await;
    props["RemoteCluster"]["AdminSecretArn"] = json!(bad);
    create_fails(
        props,
        &user,
        &["remote cluster (RemoteCluster", "orders_admin", "refused", &bad],
    )
    .await;
}

#[tokio::test]
async fn unreachable_host_is_waited_for_then_fails_naming_it_and_the_outage() {
    let stack = Stack::get();
    let _turn = stack.shared().await;
    // Nothing listens on this port.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let (mut props, user) = valid_props("unreach").await;
    props["RemoteCluster"]["Port"] = json!(port.to_string());
    create_fails_within(
        &stack.bootstrap().await,
        UNANSWERED_TIMEOUT,
        props,
        &user,
        &[
            "unreachable (refused, reset, timed out, starting up or shutting down) for ",
            "attempts, until the invocation's time ran out",
            &format!("127.0.0.1:{port}"),
            "RemoteCluster",
            "check the cluster's status",
        ],
    )
    .await;
}

#[tokio::test]
async fn silent_peer_times_out_naming_it() {
    let stack = Stack::get();
    let _turn = stack.shared().await;
    // A peer that accepts the connection and never says a word.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let keep = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let (mut props, user) = valid_props("silent").await;
    props["LocalCluster"]["Port"] = json!(port.to_string());
    create_fails_within(
        &stack.bootstrap().await,
        UNANSWERED_TIMEOUT,
        props,
        &user,
        &[
            "unreachable (refused, reset, timed out, starting up or shutting down) for ",
            &format!("no answer from 127.0.0.1:{port}"),
            "LocalCluster",
        ],
    )
    .await;
    keep.abort();
}

#[tokio::test]
async fn missing_remote_schema_is_named() {
    let _turn = Stack::get().shared().await;
    let (mut props, user) = valid_props("noschema").await;
    props["ImportSchemas"][0]["RemoteSchema"] = json!("no_such_schema");
    create_fails(
        props,
        &user,
        &[
            "remote schema \"no_such_schema\" does not exist",
            "ImportSchemas[0].RemoteSchema",
        ],
    )
    .await;
}

#[tokio::test]
async fn certificate_from_another_ca_is_refused_not_downgraded() {
    let stack = Stack::get();
    let _turn = stack.shared().await;
    let rogue = stack.bootstrap_with_ca(stack.var("FDW_ROGUE_CA_BUNDLE")).await;
    let (props, user) = valid_props("rogue").await;
    create_fails_with(&rogue, props, &user, &["TLS with 127.0.0.1", "FDW_CA_BUNDLE"]).await;
}

#[tokio::test]
async fn cluster_b_certificate_checked_by_cluster_a_too() {
    // The server option sslrootcert is what cluster A verifies cluster B with:
    // a wrong CA there fails the IMPORT, and the Create cleans up after itself.
    let stack = Stack::get();
    let _turn = stack.shared().await;
    let (mut props, user) = valid_props("rogueopt").await;
    props["ServerOptions"]["SslRootCert"] = json!(stack.var("FDW_ROGUE_CA_BUNDLE"));
    create_fails(props, &user, &["certificate verify failed"]).await;
}

#[tokio::test]
async fn cluster_endpoint_from_rds_describe_db_clusters() {
    // moto's RDS knows the clusters; its invented host names do not resolve, so the
    // failure names the host RDS reported: proof the endpoint came from the API.
    let stack = Stack::get();
    let _turn = stack.shared().await;
    let (mut props, user) = valid_props("rds").await;
    props["RemoteCluster"].as_object_mut().unwrap().remove("Endpoint");
    props["RemoteCluster"].as_object_mut().unwrap().remove("Port");
    let host = stack.var("ORDERS_CLUSTER_ENDPOINT").to_string();
    create_fails(props, &user, &[&host, "RemoteCluster"]).await;
}
