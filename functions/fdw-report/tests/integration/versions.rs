//! A link between clusters of the majors the stack was started with
//! (`PG_MAJOR`, or `PG_MAJOR_A` / `PG_MAJOR_B`): `make test` runs this module on
//! the template's default major on both sides, `make test-versions` on stacks of
//! 15 → 17, 17 → 15, 16 → 17 and 17 → 16. The whole life of a link, each step
//! through the function's real handler: Create, a query across, the scheduled
//! refresh, every shipped report against the co-located oracle, an alternating
//! rotation while a client queries, Delete.

use crate::common::{clear_windows, colocated, function, stored, window};
use fdw_bridge::bootstrap::Bootstrap;
use fdw_bridge::report::{Catalog, Status};
use fdw_bridge_testkit::{self as harness, Stack, TestLink};
use serde_json::json;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[tokio::test]
async fn the_clusters_run_the_majors_the_stack_was_started_with() {
    let stack = Stack::get();
    for cluster in ['a', 'b'] {
        let asked: u32 = stack
            .var(&format!("PG_{}_MAJOR", cluster.to_ascii_uppercase()))
            .parse()
            .unwrap();
        assert_eq!(
            stack.server_major(cluster).await,
            asked,
            "cluster {cluster} does not run the major the stack was started with: run `make stack-down stack-up`"
        );
    }
}

/// The link's orders through its foreign table, as report_reader.
async fn orders_across(stack: &Stack, link: &TestLink) -> i64 {
    stack
        .report_reader()
        .await
        .query_one(
            &format!(
                "SELECT count(*) FROM users u JOIN {}.orders o ON o.user_id = u.id",
                fdw_bridge::pg::ident(&link.local_schema)
            ),
            &[],
        )
        .await
        .unwrap_or_else(|e| panic!("querying across: {e}"))
        .get(0)
}

async fn refresh(stack: &Stack, bootstrap: &Bootstrap, link: &TestLink) -> serde_json::Value {
    let event = json!({
        "Action": "Refresh",
        "LocalCluster": link.properties["LocalCluster"],
        "ServerNames": [link.server],
    });
    let answer = bootstrap
        .handle_invocation(event, tokio::time::Instant::now() + Duration::from_secs(60))
        .await
        .unwrap_or_else(|e| panic!("refresh: {e}"));
    stack.assert_no_password_leaked();
    answer
}

#[tokio::test]
async fn a_link_between_the_stacks_majors_lives_its_whole_life() {
    let stack = Stack::get();
    let _turn = stack.shared().await;
    let (a, b) = (stack.server_major('a').await, stack.server_major('b').await);
    println!("link from PostgreSQL {a} (cluster A) to PostgreSQL {b} (cluster B)");
    let orders: i64 = stack.var("STACK_ORDERS").parse().unwrap();

    let link = stack.create_link("xv").await;
    assert_eq!(orders_across(stack, &link).await, orders, "{a} -> {b}: Create");

    // The scheduled refresh reads both catalogs and finds nothing to do.
    let bootstrap = stack.bootstrap().await;
    let answer = refresh(stack, &bootstrap, &link).await;
    let entry = &answer["Links"][0];
    assert_eq!(entry["ServerName"], json!(link.server), "{answer:#}");
    assert_eq!(entry["Error"], json!(null), "{a} -> {b}: refresh: {answer:#}");
    assert_eq!(
        entry["Drift"],
        json!(0),
        "{a} -> {b}: a refresh right after Create: {answer:#}"
    );

    // Every shipped report, through the link, equals the co-located oracle.
    let catalog = Catalog::shipped().unwrap();
    let f = function(stack, &link.local_schema, catalog.clone()).await;
    let w = window("2026-01-01T00:00:00Z", "2026-04-01T00:00:00Z");
    clear_windows(stack, &[w]).await;
    let event = json!({"reports": ["all"], "scheduledTime": "2026-04-01T06:00:00Z",
                       "executionId": harness::unique("xv"),
                       "window": {"start": "2026-01-01T00:00:00Z", "end": "2026-04-01T00:00:00Z"}});
    let outcomes = f
        .handle(&event, &harness::unique("req"))
        .await
        .unwrap_or_else(|e| panic!("{a} -> {b}: reports: {e}"));
    for report in crate::common::one_link_reports(&catalog) {
        let outcome = outcomes.iter().find(|o| o.report == report.name).unwrap();
        assert_eq!(
            outcome.status,
            Status::Succeeded,
            "{}: {:?}",
            report.name,
            outcome.error
        );
        let s = stored(stack, &report.name, &w).await.expect("run record");
        assert_eq!(
            s.rows,
            colocated(stack, report, &w).await,
            "{a} -> {b}: {} differs from the co-located oracle",
            report.name
        );
    }

    // An alternating rotation while a client queries across: no query fails.
    let secret = stack.rotation_secret(&link, "alternating").await;
    let rotator = stack.rotator().await;
    let stop = Arc::new(AtomicBool::new(false));
    let (done, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let client = tokio::spawn({
        let (stop, done, failed) = (stop.clone(), done.clone(), failed.clone());
        let sql = format!(
            "SELECT count(*) FROM {}.orders",
            fdw_bridge::pg::ident(&link.local_schema)
        );
        async move {
            while !stop.load(Ordering::SeqCst) {
                // A new session each time: it logs in to B with whatever A's mapping holds now.
                let reader = Stack::get().report_reader().await;
                match reader.query_one(&sql, &[]).await {
                    Ok(_) => done.fetch_add(1, Ordering::SeqCst),
                    Err(e) => {
                        eprintln!("query during rotation failed: {e}");
                        failed.fetch_add(1, Ordering::SeqCst)
                    }
                };
            }
        }
    });
    let token = stack.start_rotation(&secret).await;
    for step in ["createSecret", "setSecret", "testSecret", "finishSecret"] {
        let outcome = rotator
            .handle(step, &secret, &token)
            .await
            .unwrap_or_else(|e| panic!("{a} -> {b}: {step}: {e}"));
        if outcome.did.starts_with("created AWSPENDING") {
            let pending = stack.secret_version(&secret, Some(&token), "AWSPENDING").await;
            harness::remember_secret(pending["password"].as_str().expect("password"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop.store(true, Ordering::SeqCst);
    client.await.unwrap();
    stack.assert_no_password_leaked();
    let current = stack.secret_version(&secret, None, "AWSCURRENT").await;
    assert_eq!(
        current["username"],
        json!(fdw_bridge::pg::clone_role_name(&link.fdw_user)),
        "the rotation moved AWSCURRENT to the clone"
    );
    assert_eq!(
        failed.load(Ordering::SeqCst),
        0,
        "{a} -> {b}: queries failed during the rotation ({} succeeded)",
        done.load(Ordering::SeqCst)
    );
    assert!(done.load(Ordering::SeqCst) > 0, "no query ran during the rotation");
    assert_eq!(
        orders_across(stack, &link).await,
        orders,
        "{a} -> {b}: after the rotation"
    );
    println!(
        "{a} -> {b}: {} queries across during the rotation, none failed",
        done.load(Ordering::SeqCst)
    );

    stack.delete_link(&link).await;
}
