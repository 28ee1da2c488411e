//! Cluster B stopped in the middle of an invocation and not back before the
//! invocation's time runs out (10 s here: the report that needs B is retried,
//! then fails saying for how long B was unreachable; a B that comes back in
//! time is the failover test's case). It stops a cluster, so it
//! has the stack alone (an exclusive turn: the other tests of the binary wait);
//! the guard below starts B again even when the test fails.

use crate::common::{clear_windows, function, stored, test_report, window};
use fdw_bridge::report::Catalog;
use fdw_bridge::report::Status;
use fdw_bridge_testkit as harness;
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_cluster_stopped_mid_run_fails_that_report_and_a_rerun_replaces_it() {
    let stack = harness::Stack::get();
    let _turn = stack.exclusive().await;
    let link = stack.create_link("report").await;
    // Runs between the two shipped reports below (catalog order is by name,
    // concurrency 1): local only, and slow enough for B to be stopped meanwhile.
    let slow_local = test_report(
        &harness::unique("s_slow_local"),
        "30s",
        "SELECT count(*) AS users FROM pg_sleep(4) AS s, public.users u WHERE u.signup_at < $2 AND $1::timestamptz < $2",
    );
    let catalog = Catalog::shipped().unwrap().with(slow_local.clone(), "test").unwrap();
    let mut f = function(stack, &link.local_schema, catalog).await;
    f.settings.concurrency = 1;
    let w = window("2025-09-01T00:00:00Z", "2025-09-15T00:00:00Z");
    clear_windows(stack, &[w]).await;
    let event = json!({
        "reports": ["revenue_by_country_segment", slow_local.name, "top_customers_by_spend"],
        "scheduledTime": "2025-09-15T06:00:00Z", "executionId": "exec-remote-down",
        "window": {"start": "2025-09-01T00:00:00Z", "end": "2025-09-15T00:00:00Z"},
    });

    let guard = stack.clusters.restart_on_drop('b');
    let stopper = tokio::spawn(async move {
        // revenue_by_country_segment is done by now; the slow local report is sleeping.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        tokio::task::spawn_blocking(move || stack.clusters.stop_cluster('b'))
            .await
            .unwrap();
    });
    let e = f
        .handle_until(
            &event,
            &harness::unique("req"),
            Instant::now() + Duration::from_secs(10),
        )
        .await
        .expect_err("one report failed, so the invocation fails");
    stopper.await.unwrap();
    let outcomes = e.outcomes();
    let status = |name: &str| outcomes.iter().find(|o| o.report == name).unwrap().status;
    assert_eq!(status("revenue_by_country_segment"), Status::Succeeded, "{outcomes:?}");
    assert_eq!(status(&slow_local.name), Status::Succeeded, "{outcomes:?}");
    assert_eq!(status("top_customers_by_spend"), Status::Failed, "{outcomes:?}");
    let failed = stored(stack, "top_customers_by_spend", &w).await.unwrap();
    assert_eq!(failed.status, "failed");
    let error = failed.error.unwrap();
    let host_port = format!("127.0.0.1:{}", stack.clusters.port('b'));
    assert!(
        error.contains(&link.server),
        "the error does not name the foreign server: {error}"
    );
    assert!(error.contains(&host_port), "the error does not name B's host: {error}");
    assert!(
        error.starts_with("unreachable (refused, reset, timed out, starting up or shutting down) for "),
        "the error does not say B was unreachable, for how long: {error}"
    );
    assert!(e.to_string().contains("top_customers_by_spend"), "{e}");

    drop(guard); // B is back
    let again = f
        .handle(&event, &harness::unique("req"))
        .await
        .unwrap_or_else(|e| panic!("rerun after B is back: {e}"));
    let status = |name: &str| again.iter().find(|o| o.report == name).unwrap().status;
    assert_eq!(status("revenue_by_country_segment"), Status::AlreadyDone);
    assert_eq!(status(&slow_local.name), Status::AlreadyDone);
    assert_eq!(status("top_customers_by_spend"), Status::Succeeded);
    let replaced = stored(stack, "top_customers_by_spend", &w).await.unwrap();
    assert_eq!((replaced.status.as_str(), replaced.attempt), ("succeeded", 2));
    assert_eq!(replaced.error, None);
    assert!(!replaced.rows.is_empty());
    stack.delete_link(&link).await;
}
