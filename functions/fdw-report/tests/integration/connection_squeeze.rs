//! Reports when cluster B has fewer connection slots than they need at once:
//! the link's budget (`FdwConnectionLimit: 2`, an Update through fdw-bootstrap)
//! gives the FDW role on B `CONNECTION LIMIT 2` (what a full B looks like to
//! postgres_fdw: "too many connections for role", SQLSTATE 53300 on B) while 12
//! invocations of 4 reports run at once. Without time to retry, most reports fail; with the invocation's time,
//! every report is retried with jittered backoff and none fails.

use crate::common::{clear_windows, function, window};
use fdw_bridge::report::{Catalog, ReportFunction, Status};
use fdw_bridge_testkit as harness;
use serde_json::json;
use std::time::{Duration, Instant};

const INVOCATIONS: usize = 12;

/// `INVOCATIONS` concurrent invocations, each over its own window (so none
/// finds another's run), each with `budget` to its deadline; returns (failed, total) reports.
async fn overlap(f: &ReportFunction, day: u32, budget: Duration) -> (usize, usize) {
    let mut invocations = Vec::new();
    for i in 0..INVOCATIONS {
        let start = format!("2024-{:02}-{:02}T00:00:00Z", 1 + i % 12, day);
        let end = format!("2024-{:02}-{:02}T00:00:00Z", 1 + i % 12, day + 1);
        clear_windows(harness::Stack::get(), &[window(&start, &end)]).await;
        let event = json!({
            "reports": ["all"], "scheduledTime": end, "executionId": format!("squeeze-{day}-{i}"),
            "window": {"start": start, "end": end},
        });
        invocations.push(async move {
            let deadline = Instant::now() + budget;
            match f.handle_until(&event, &harness::unique("req"), deadline).await {
                Ok(outcomes) => outcomes,
                Err(e) => e.outcomes().to_vec(),
            }
        });
    }
    let mut failed = 0;
    let mut total = 0;
    // All at once, as concurrent Lambda invocations (in one task: the work is waiting on the clusters).
    for outcomes in futures_util::future::join_all(invocations).await {
        for o in outcomes {
            total += 1;
            if o.status.is_failure() {
                failed += 1;
                assert!(
                    o.status == Status::Failed
                        && o.error
                            .as_deref()
                            .is_some_and(|e| e.contains("too many connections for role")),
                    "a failure of another kind: {o:?}"
                );
            }
        }
    }
    (failed, total)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_invocations_on_a_squeezed_cluster_b_fail_no_report() {
    let stack = harness::Stack::get();
    let _turn = stack.shared().await;
    let mut link = stack.create_link("squeeze").await;
    // The default budget: a third of B's connections for ordinary roles.
    let b = stack.clusters.superuser('b', "orders").await;
    let limit = |b: tokio_postgres::Client, role: String| async move {
        let row = b
            .query_one(
                "SELECT rolconnlimit, (current_setting('max_connections')::int
                                      - current_setting('superuser_reserved_connections')::int) / 3
                   FROM pg_roles WHERE rolname = $1",
                &[&role],
            )
            .await
            .unwrap();
        (row.get::<_, i32>(0), row.get::<_, i32>(1), b)
    };
    let (now, third, b) = limit(b, link.fdw_user.clone()).await;
    assert_eq!(
        now, third,
        "the FDW role's default CONNECTION LIMIT is a third of B's budget"
    );
    link.properties["FdwConnectionLimit"] = json!("2");
    let bootstrap = stack.bootstrap().await;
    stack
        .request(&bootstrap, "Update", Some(&link.physical_id), &link.properties)
        .await
        .assert_success();
    let (now, _, _b) = limit(b, link.fdw_user.clone()).await;
    assert_eq!(now, 2);
    let mut f = function(stack, &link.local_schema, Catalog::shipped().unwrap()).await;
    // A report slot for every report: here the role's limit is what bounds the
    // reports on B, and its refusals are what they retry (or, without time,
    // fail with).
    f.settings.remote_slots = (INVOCATIONS * 4) as u32;

    let started = Instant::now();
    let (failed_without, total_without) = overlap(&f, 3, Duration::ZERO).await;
    let without = started.elapsed();
    let started = Instant::now();
    let (failed, total) = overlap(&f, 5, Duration::from_secs(120)).await;
    let with = started.elapsed();
    println!(
        "{INVOCATIONS} concurrent invocations, FDW role limited to 2 connections on B: \
         without time to retry {failed_without} of {total_without} reports failed ({without:?}); \
         retried within the deadline {failed} of {total} failed ({with:?})"
    );
    assert_eq!(total, INVOCATIONS * 4);
    assert!(failed_without > 0, "the squeeze did not bite: nothing to retry");
    assert_eq!(failed, 0, "reports failed although the invocations had time to retry");
    stack.delete_link(&link).await;
}
