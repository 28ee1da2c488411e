//! What a failed fdw-bootstrap invocation tells Lambda. Bootstrap fails an
//! invocation only when CloudFormation cannot be answered (a dead cluster is a
//! FAILED response, not a failed invocation): an event without a ResponseURL
//! and a ResponseURL that refuses report different, stable error types.

use fdw_bridge_testkit as harness;
use lambda_runtime::Diagnostic;
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_response_url_and_an_undeliverable_response_report_different_error_types() {
    let stack = harness::Stack::get();
    let _turn = stack.shared().await;
    let bootstrap = stack.bootstrap().await;
    let deadline = || tokio::time::Instant::now() + Duration::from_secs(14);

    let bad = bootstrap
        .handle_event(json!({"RequestType": "Create", "hello": 1}), deadline())
        .await
        .expect_err("nowhere to answer");
    let bad = Diagnostic::from(bad);
    assert_eq!(bad.error_type, "InvalidEvent");
    assert!(bad.error_message.contains("no ResponseURL"), "{}", bad.error_message);

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let props = stack.properties("never_made", "never_made", "arn:none");
    let mut event = stack.event("Create", "refused", None, &props);
    event["ResponseURL"] = json!(format!("http://127.0.0.1:{port}/refused"));
    let refused = bootstrap
        .handle_event(event, deadline())
        .await
        .expect_err("the URL refuses");
    let refused = Diagnostic::from(refused);
    println!("no ResponseURL: {bad:?}\nrefusing ResponseURL: {refused:?}");
    assert_eq!(refused.error_type, "ResponseUndeliverable");
    assert!(
        refused.error_message.contains(&format!("127.0.0.1:{port}")),
        "{}",
        refused.error_message
    );
}
