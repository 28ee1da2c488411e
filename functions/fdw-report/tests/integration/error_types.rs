//! What a failed fdw-report invocation tells Lambda: through the handler the
//! function's main calls (`ReportFunction::invoke` adds only the deadline) and the runtime's
//! conversion to a `Diagnostic`, a bad event and a dead cluster report
//! different, stable error types and keep the human message.

use crate::common::function;
use fdw_bridge::aws::Endpoint;
use fdw_bridge::report::Catalog;
use fdw_bridge_testkit as harness;
use lambda_runtime::Diagnostic;
use serde_json::json;
use std::time::{Duration, Instant};

/// A port on loopback nothing listens on (bound, then released).
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_event_and_a_dead_cluster_report_different_error_types() {
    let stack = harness::Stack::get();
    let _turn = stack.shared().await;
    let f = function(stack, "orders_remote", Catalog::shipped().unwrap()).await;

    let bad = f
        .handle(&json!({"detail-type": "Object Created", "source": "aws.s3"}), "req-bad")
        .await
        .expect_err("not a schedule event");
    let bad = Diagnostic::from(bad);
    assert_eq!(bad.error_type, "InvalidEvent");
    assert!(
        bad.error_message
            .starts_with("unusable event, nothing was run: malformed EventBridge event"),
        "{}",
        bad.error_message
    );

    let unknown = f
        .handle(
            &json!({"reports": ["no_such_report"], "scheduledTime": "2025-09-15T06:00:00Z", "executionId": "e"}),
            "req-unknown",
        )
        .await
        .expect_err("unknown report");
    assert_eq!(Diagnostic::from(unknown).error_type, "InvalidEvent");

    // The writer (cluster A) is down: nothing can be stored, the invocation fails.
    let mut dead = f.clone();
    let port = closed_port();
    dead.settings.writer_endpoint = Some(Endpoint {
        host: "127.0.0.1".into(),
        port,
    });
    // A short invocation: the writer is retried as an outage until its time runs out.
    let down = dead
        .handle_until(
            &json!({"reports": ["all"], "scheduledTime": "2025-09-15T06:00:00Z", "executionId": "e-dead"}),
            "req-dead",
            Instant::now() + Duration::from_secs(8),
        )
        .await
        .expect_err("the writer is down");
    let down = Diagnostic::from(down);
    println!("bad event: {bad:?}\ndead writer: {down:?}");
    assert_eq!(down.error_type, "ClusterUnreachable");
    assert!(
        down.error_message.contains(&format!("127.0.0.1:{port}")),
        "{}",
        down.error_message
    );
    assert!(
        down.error_message.contains("until the invocation's time ran out"),
        "the error does not say the writer was retried: {}",
        down.error_message
    );
    assert_ne!(bad.error_type, down.error_type);

    // A secret that does not exist in Secrets Manager.
    let mut no_secret = f.clone();
    no_secret.settings.reader_secret_arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:no-such-secret".into();
    let missing = no_secret
        .handle(
            &json!({"reports": ["all"], "scheduledTime": "2025-09-15T06:00:00Z", "executionId": "e-nosecret"}),
            "req-nosecret",
        )
        .await
        .expect_err("no such secret");
    assert_eq!(Diagnostic::from(missing).error_type, "SecretUnavailable");
    stack.assert_no_password_leaked();
}
