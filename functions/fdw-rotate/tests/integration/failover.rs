//! Issue 24, through the Lambda Runtime API: a rotation whose setSecret meets
//! an outage of cluster B (`FDW_OUTAGE_SECONDS`, 30 s unless set), as an Aurora
//! failover or reboot takes B's endpoint away. setSecret runs as fdw-rotate's
//! own binary, started during the outage: it waits for B (the one retry
//! policy) and completes once B is back; the rotation finishes and no query
//! fails after it.

use crate::common::{assert_mappings_follow_current, step, Load};
use fdw_bridge_testkit as harness;
use harness::{outage_length, LeakWatch, Stack};
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_set_secret_that_meets_an_outage_of_b_completes_and_no_query_fails_after_it() {
    let stack = Stack::get();
    let _turn = stack.exclusive().await;
    let _restart = stack.clusters.restart_on_drop('b');
    let link = stack.create_link("rot_failover").await;
    let secret = stack.rotation_secret(&link, "alternating").await;
    let rotator = stack.rotator().await;
    let mut watch = LeakWatch::start(stack);
    let token = stack.aws.start_rotation(&secret).await;
    step(&mut watch, &rotator, "createSecret", &secret, &token)
        .await
        .unwrap();

    let length = outage_length();
    let outage = stack.clusters.outage('b', length);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let event = json!({"Step": "setSecret", "SecretId": secret, "ClientRequestToken": token});
    let lambda_timeout = Duration::from_secs(120);
    let started = Instant::now();
    let process = stack
        .functions
        .spawn_function(env!("CARGO_BIN_EXE_fdw-rotate"), &event, lambda_timeout)
        .await;
    let down_for = outage.end().await;
    let (answer, log) = process.answer_and_log(lambda_timeout).await;
    let retries = harness::retries_logged(&log);
    println!(
        "setSecret during B's {down_for:?} outage: {} after {:?}, {retries} retries logged",
        if answer.is_ok() { "completed" } else { "failed" },
        started.elapsed()
    );
    answer.unwrap_or_else(|e| panic!("setSecret failed: {e}\n{log}"));
    assert!(retries > 0, "setSecret met no outage: {log}");
    watch.check(stack);

    for name in ["testSecret", "finishSecret"] {
        step(&mut watch, &rotator, name, &secret, &token)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    assert_mappings_follow_current(stack, &link, &secret).await;
    // After it, new sessions (fresh FDW connections) and held ones alike.
    let load = Load::start(&link, 2, 2);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = load.stop().await;
    println!("after the rotation: {} queries ok, {} failed", after.ok, after.failed);
    assert_eq!(after.failed, 0, "{:?}", after.errors);
    assert!(after.ok > 0);
    stack.delete_link(&link).await;
}
