//! setSecret while cluster B is down. It stops cluster B, so it has the stack
//! alone (an exclusive turn: the other tests of the binary wait), and a guard
//! starts B again when the test ends, also when it panics.

use crate::common;
use crate::common::{cross_query, step, STEPS};
use fdw_bridge_testkit as harness;
use harness::{LeakWatch, Stack};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_b_down_during_set_secret_then_the_retry_completes() {
    let stack = Stack::get();
    let _turn = stack.exclusive().await;
    let link = stack.create_link("rot_bdown").await;
    let secret = stack.rotation_secret(&link, "alternating").await;
    let rotator = stack.rotator().await;
    let mut watch = LeakWatch::start(stack);
    let token = stack.aws.start_rotation(&secret).await;
    step(&mut watch, &rotator, "createSecret", &secret, &token)
        .await
        .unwrap();

    let restart = stack.clusters.restart_on_drop('b');
    stack.clusters.stop_cluster('b');
    let e = step(&mut watch, &rotator, "setSecret", &secret, &token)
        .await
        .unwrap_err()
        .to_string();
    let port = stack.clusters.port('b').to_string();
    assert!(
        e.contains("cluster B") && e.contains(&port),
        "the error does not name cluster B: {e}"
    );
    drop(restart);

    // AWSCURRENT still works: the mappings were left as they were.
    let current = stack.aws.secret_version(&secret, None, "AWSCURRENT").await;
    assert_eq!(current["username"], json!(link.fdw_user));
    let (user, _) = common::mapping_options(stack, &link.server, "report_reader").await;
    assert_eq!(user, link.fdw_user);
    let reader = stack.clusters.report_reader().await;
    reader
        .query_one(&cross_query(&link), &[])
        .await
        .unwrap_or_else(|e| panic!("querying across with AWSCURRENT after B came back: {e}"));

    // Secrets Manager retries the rotation: it completes.
    for name in STEPS {
        step(&mut watch, &rotator, name, &secret, &token)
            .await
            .unwrap_or_else(|e| panic!("{name} on retry: {e}"));
    }
    let current = stack.aws.secret_version(&secret, None, "AWSCURRENT").await;
    assert_eq!(
        current["username"],
        json!(fdw_bridge::pg::clone_role_name(&link.fdw_user))
    );
    let reader = stack.clusters.report_reader().await;
    reader.query_one(&cross_query(&link), &[]).await.unwrap();
    stack.delete_link(&link).await;
}

/// Cluster B stopped before each of the four steps in turn (a rotation per
/// step): the step either does not need B or fails naming cluster B, the
/// queries of AWSCURRENT work once B is back, and the retried steps complete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_b_down_before_each_step_then_the_retry_completes() {
    let stack = Stack::get();
    let _turn = stack.exclusive().await;
    let link = stack.create_link("rot_bstep").await;
    let secret = stack.rotation_secret(&link, "alternating").await;
    let rotator = stack.rotator().await;
    let mut watch = LeakWatch::start(stack);
    let port = stack.clusters.port('b').to_string();
    let mut expected_user = link.fdw_user.clone();
    for (down_at, down_step) in STEPS.iter().enumerate() {
        let token = stack.aws.start_rotation(&secret).await;
        for name in &STEPS[..down_at] {
            step(&mut watch, &rotator, name, &secret, &token)
                .await
                .unwrap_or_else(|e| panic!("{name} before B went down: {e}"));
        }
        let restart = stack.clusters.restart_on_drop('b');
        stack.clusters.stop_cluster('b');
        let outcome = step(&mut watch, &rotator, down_step, &secret, &token).await;
        let ran_without_b = match &outcome {
            Ok(_) => true,
            Err(e) => {
                let e = e.to_string();
                assert!(
                    e.contains("cluster B") && e.contains(&port),
                    "{down_step} with B down: the error does not name cluster B: {e}"
                );
                false
            }
        };
        drop(restart);
        let reader = stack.clusters.report_reader().await;
        reader
            .query_one(&cross_query(&link), &[])
            .await
            .unwrap_or_else(|e| panic!("querying across after B came back ({down_step}): {e}"));
        // Secrets Manager retries the failed step (a done one is a no-op), then the rest.
        let retry_from = if ran_without_b { down_at + 1 } else { down_at };
        for name in &STEPS[retry_from..] {
            step(&mut watch, &rotator, name, &secret, &token)
                .await
                .unwrap_or_else(|e| panic!("{name} on retry after B was down at {down_step}: {e}"));
        }
        expected_user = fdw_bridge::rotate::RolePair::of(&expected_user).other(&expected_user);
        let current = stack.aws.secret_version(&secret, None, "AWSCURRENT").await;
        assert_eq!(
            current["username"],
            json!(expected_user),
            "after B was down at {down_step}"
        );
        reader.query_one(&cross_query(&link), &[]).await.unwrap();
    }
    stack.delete_link(&link).await;
}
