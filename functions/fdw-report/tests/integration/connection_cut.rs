//! The connection between the clusters cut in the middle of a report's
//! foreign-table fetch: the link's foreign server on A is pointed at the test
//! kit's proxy in front of B, which lets the TLS handshake and login through and
//! drops the connection once B has sent 64 KiB (the report reads all of B's
//! orders, about 1 MB through postgres_fdw's cursor), every time: the report is
//! retried until the invocation's time runs out (8 s here), then fails. It
//! touches only its own link, so it shares the stack.

use crate::common::{clear_windows, colocated, function, stored, test_report, window};
use fdw_bridge::report::{Catalog, Status};
use fdw_bridge_testkit as harness;
use fdw_bridge_testkit::delay_proxy::DelayProxy;
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fetch_cut_mid_stream_fails_naming_cluster_b_stores_nothing_and_the_rerun_succeeds() {
    let stack = harness::Stack::get();
    let _turn = stack.shared().await;
    let link = stack.create_link("cut").await;
    let report = test_report(
        &harness::unique("all_orders"),
        "30s",
        "SELECT o.id, o.user_id, o.status, o.total_cents FROM {{remote}}.orders o
          WHERE o.created_at < $2 AND $1::timestamptz < $2 ORDER BY o.id",
    );
    let catalog = Catalog::shipped().unwrap().with(report.clone(), "test").unwrap();
    let f = function(stack, &link.local_schema, catalog).await;
    let w = window("2025-10-01T00:00:00Z", "2025-10-02T00:00:00Z");
    clear_windows(stack, &[w]).await;
    let event = json!({
        "reports": [report.name], "scheduledTime": "2025-10-02T06:00:00Z", "executionId": "exec-cut",
        "window": {"start": "2025-10-01T00:00:00Z", "end": "2025-10-02T00:00:00Z"},
    });

    let proxy = DelayProxy::start(stack.clusters.port('b'), Duration::ZERO);
    proxy.cut_after(64 * 1024);
    stack.point_server_at(&link.server, proxy.port).await;
    let e = f
        .handle_until(&event, &harness::unique("req"), Instant::now() + Duration::from_secs(8))
        .await
        .expect_err("the cut report fails the invocation");
    assert!(
        proxy.cuts() >= 1,
        "the proxy cut nothing: the report did not fetch through it"
    );
    let outcome = &e.outcomes()[0];
    assert_eq!(outcome.status, Status::Failed, "{outcome:?}");
    let error = outcome.error.clone().unwrap();
    println!("report cut mid-fetch: {error}");
    // postgres_fdw's text names no cluster; the runner leads with the outage,
    // then cluster B and where the server points.
    assert!(
        error.starts_with("unreachable (refused, reset, timed out, starting up or shutting down) for ")
            && error
                .contains("attempts, until the invocation's time ran out): the connection from cluster A to cluster B"),
        "the error does not lead with the outage and cluster B: {error}"
    );
    assert!(
        error.contains(&link.server),
        "the error does not name the foreign server: {error}"
    );
    assert!(
        error.contains(&format!("127.0.0.1:{}/orders", proxy.port)),
        "the error does not say where the server points: {error}"
    );
    let failed = stored(stack, &report.name, &w).await.unwrap();
    assert_eq!((failed.status.as_str(), failed.row_count), ("failed", None));
    assert!(failed.rows.is_empty(), "{} partial rows stored", failed.rows.len());

    // The link heals (the same proxy, no longer cutting): the rerun replaces the record.
    proxy.heal();
    let again = f
        .handle(&event, &harness::unique("req"))
        .await
        .unwrap_or_else(|e| panic!("rerun after the link healed: {e}"));
    assert_eq!(again[0].status, Status::Succeeded);
    let replaced = stored(stack, &report.name, &w).await.unwrap();
    assert_eq!((replaced.status.as_str(), replaced.attempt), ("succeeded", 2));
    assert_eq!(replaced.rows, colocated(stack, &report, &w).await);
    assert!(
        replaced.rows.len() > 1000,
        "the report fetched {} rows",
        replaced.rows.len()
    );

    stack.point_server_at(&link.server, stack.clusters.port('b')).await;
    stack.delete_link(&link).await;
}
