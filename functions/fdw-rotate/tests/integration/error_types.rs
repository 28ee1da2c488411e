//! What a failed fdw-rotate invocation tells Lambda: through the same call the
//! function's main makes (`Rotator::handle_event`, which reads the raw event)
//! and the runtime's conversion to a `Diagnostic`, a bad event and a dead
//! cluster report different, stable error types.

use fdw_bridge_testkit as harness;
use harness::Stack;
use lambda_runtime::Diagnostic;
use serde_json::json;
use std::time::{Duration, Instant};

/// A Lambda deadline that leaves `retrying` for the one retry policy after
/// one connect bound of the test kit (5 s) and the step's margin (2 s).
fn deadline_retrying(retrying: Duration) -> Instant {
    Instant::now() + Duration::from_secs(7) + retrying
}

fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_event_and_a_dead_cluster_report_different_error_types() {
    let stack = Stack::get();
    let _turn = stack.shared().await;
    let rotator = stack.rotator().await;

    for (event, needle) in [
        (json!({"Step": "setSecret"}), "missing field `SecretId`"),
        (json!("createSecret"), "not a Secrets Manager rotation event"),
        (
            json!({"Step": "dropSecret", "SecretId": "arn:x", "ClientRequestToken": "t"}),
            "unknown rotation step \"dropSecret\"",
        ),
    ] {
        let d = Diagnostic::from(
            rotator
                .handle_event(&event, deadline_retrying(Duration::ZERO))
                .await
                .expect_err("bad event"),
        );
        assert_eq!(d.error_type, "InvalidEvent", "{event}: {d:?}");
        assert!(
            d.error_message.contains(needle),
            "{needle:?} not in {}",
            d.error_message
        );
    }

    // Cluster A (where the mappings are) does not answer.
    let port = closed_port();
    let password = harness::unique("pw");
    harness::remember_secret(&password);
    let secret = stack
        .aws
        .put_secret(
            &harness::unique("fdw-bridge-test/rotate/dead-a"),
            json!({
                "engine": "postgres", "host": "127.0.0.1", "port": stack.clusters.port('b'), "dbname": "orders",
                "username": "fdw_dead", "password": password,
                "masterarn": stack.var("ORDERS_ADMIN_SECRET_ARN"),
                "local": {"host": "127.0.0.1", "port": port, "dbname": "users",
                          "adminarn": stack.var("USERS_ADMIN_SECRET_ARN")},
                "server": "dead_link",
            }),
        )
        .await;
    let token = stack.aws.start_rotation(&secret).await;
    // createSecret reads which role A's mappings use: it fails on the dead cluster.
    let step = json!({"Step": "createSecret", "SecretId": secret, "ClientRequestToken": token});
    // Retried for 3 s (a failover would be over by then), then said so.
    let dead = Diagnostic::from(
        rotator
            .handle_event(&step, deadline_retrying(Duration::from_secs(3)))
            .await
            .expect_err("cluster A is down"),
    );
    println!("dead cluster A: {dead:?}");
    assert_eq!(dead.error_type, "ClusterUnreachable");
    assert!(
        dead.error_message.starts_with(&format!(
            "createSecret for secret {secret} failed: unreachable (refused, reset, timed out, starting up or shutting down) for "
        )),
        "{}",
        dead.error_message
    );
    assert!(
        dead.error_message
            .contains("until the invocation's time ran out): cluster A"),
        "{}",
        dead.error_message
    );
    assert!(
        dead.error_message.contains("check the cluster's status"),
        "{}",
        dead.error_message
    );
    assert!(
        dead.error_message.contains(&format!("127.0.0.1:{port}")),
        "{}",
        dead.error_message
    );

    // A step for a version that is not being rotated: refused, not a cluster problem.
    let stale = json!({"Step": "setSecret", "SecretId": secret, "ClientRequestToken": "no-such-version"});
    let refused = Diagnostic::from(
        rotator
            .handle_event(&stale, deadline_retrying(Duration::ZERO))
            .await
            .expect_err("no such version"),
    );
    assert_eq!(refused.error_type, "RotationRefused", "{refused:?}");
    stack.assert_no_password_leaked();
}
