//! The advice on real plans of each major the stack runs: EXPLAIN (VERBOSE,
//! FORMAT JSON) as the runner asks for it, captured from PostgreSQL 15, 16.11
//! and 17.10 by scripts/capture-pushdown-plans.sh (shared/report/src/pushdown_plans/,
//! 1,000 users, 10,000 orders), handed to fdw_bridge.advise_plan on this
//! stack's cluster A: the same pattern for each shape whichever major planned
//! it (16 hashes the local side of an anti-join, 17 names a hashed NOT IN's
//! key), and 17's shipped semi-join advised nothing.

use fdw_bridge_testkit as harness;
use std::path::Path;

const MAJORS: [u32; 3] = [15, 16, 17];

fn plan(major: u32, shape: &str) -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/report/src/pushdown_plans")
        .join(format!("pg{major}/{shape}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn each_captured_shape_gets_its_pattern_on_every_major() {
    let stack = harness::Stack::get();
    let _turn = stack.shared().await;
    let link = stack.create_link("plans").await;
    let a = stack.superuser('a', "users").await;
    // The captured plans name capture_remote.orders and order_items: the same tables,
    // through this link, analyzed (10,000 and 25,000 rows), so the advice counts what crosses.
    a.batch_execute(&format!(
        "DROP SCHEMA IF EXISTS capture_remote CASCADE; CREATE SCHEMA capture_remote AUTHORIZATION users_admin;
         SET ROLE users_admin;
         IMPORT FOREIGN SCHEMA public LIMIT TO (orders, order_items) FROM SERVER {} INTO capture_remote;
         ANALYZE capture_remote.orders; ANALYZE capture_remote.order_items; RESET ROLE",
        fdw_bridge::pg::ident(&link.server)
    ))
    .await
    .unwrap();
    let expected: [(&str, &[&str]); 7] = [
        ("now_window", &["initplan"]),
        ("local_filter_join", &["array_of_local_ids"]),
        ("anti_join", &["remote_keys"]),
        ("not_in_subplan", &["remote_keys"]),
        ("whole_history", &["aggregate_remotely"]),
        ("remote_semi_join", &["remote_join"]),
        ("remote_semi_join_estimated", &["remote_join"]),
    ];
    for major in MAJORS {
        for (shape, patterns) in expected {
            let rows = a
                .query(
                    "SELECT DISTINCT pattern, scan FROM fdw_bridge.advise_plan($1::jsonb, NULL, false, 5000)
                      WHERE pattern <> 'none' ORDER BY 1, 2",
                    &[&plan(major, shape)],
                )
                .await
                .unwrap_or_else(|e| panic!("pg{major}/{shape}: {e:?}"));
            let found: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
            let scans: Vec<String> = rows.iter().map(|r| r.get(1)).collect();
            // 17 ships the semi-join when it may cost it: nothing to advise.
            let wanted: &[&str] = if major >= 17 && shape == "remote_semi_join_estimated" {
                &[]
            } else {
                patterns
            };
            let mut distinct = found.clone();
            distinct.dedup();
            assert_eq!(distinct, wanted, "pg{major}/{shape}: {found:?} {scans:?}");
            assert!(
                scans.iter().all(|s| s.starts_with("capture_remote.")),
                "pg{major}/{shape}: {scans:?}"
            );
        }
    }
    a.batch_execute("DROP SCHEMA capture_remote CASCADE").await.unwrap();
    stack.delete_link(&link).await;
}
