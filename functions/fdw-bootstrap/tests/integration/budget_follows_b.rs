//! Issue 19, case 2: the link created with cluster B at `max_connections` 200
//! (the FDW role's budget 65), B then restarted at 50 (what a smaller instance
//! class does on Aurora), no Update. Interactive sessions on A as
//! `report_reader`, each running a cross-database JOIN and staying open 5 s
//! (`FDW_BUDGET_SESSIONS`, default the 100):
//! - before any refresh the budget no longer fits B: sessions are refused by
//!   B's last slots (`remaining connection slots are reserved`, `too many
//!   clients already`), which name no budget (counted, and the squeeze must bite);
//! - the scheduled refresh, run through fdw-bootstrap's own binary and the
//!   Lambda Runtime API, re-derives the budget first (15: a third of B's 47
//!   ordinary slots);
//! - then every session either succeeds or is refused by the budget with B's
//!   `too many connections for role "…"`.

use fdw_bridge_testkit::{DeadlineHeader, Stack, TestLink};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

const JOIN: &str =
    "SELECT u.country, count(*)::bigint FROM public.users u JOIN {orders} o ON o.user_id = u.id GROUP BY 1";

fn sessions() -> usize {
    std::env::var("FDW_BUDGET_SESSIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100)
}

/// What the sessions got: "ok", "role limit" (B's `too many connections for
/// role`), or the other error's text; and the peak of FDW sessions on B.
async fn interactive_burst(stack: &'static Stack, link: &TestLink, n: usize) -> (BTreeMap<String, usize>, i64) {
    let stop = Arc::new(AtomicBool::new(false));
    let peak = {
        let (stop, user) = (Arc::clone(&stop), link.fdw_user.clone());
        tokio::spawn(async move {
            let b = stack.clusters.superuser('b', "orders").await;
            let mut peak = 0i64;
            while !stop.load(Ordering::Relaxed) {
                let n: i64 = b
                    .query_one("SELECT count(*) FROM pg_stat_activity WHERE usename = $1", &[&user])
                    .await
                    .unwrap()
                    .get(0);
                peak = peak.max(n);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            peak
        })
    };
    let sql = JOIN.replace(
        "{orders}",
        &format!("{}.orders", fdw_bridge::pg::ident(&link.local_schema)),
    );
    let runs = (0..n).map(|_| {
        let sql = sql.clone();
        async move {
            let target = fdw_bridge::pg::ConnectTarget {
                label: "report_reader on cluster A".into(),
                endpoint: fdw_bridge::aws::Endpoint {
                    host: "127.0.0.1".into(),
                    port: stack.clusters.port('a'),
                },
                dbname: "users".into(),
                user: "report_reader".into(),
                password: stack.var("REPORT_READER_PASSWORD").into(),
                credential_source: "test".into(),
            };
            let client = match stack.clusters.connector().connect(&target).await {
                Ok(c) => c,
                Err(e) => return format!("cluster A refused the session: {e}"),
            };
            let outcome = match client.query(&sql, &[]).await {
                Ok(_) => "ok".to_string(),
                Err(e) => {
                    let text = fdw_bridge::pg::error_chain(&e);
                    if text.contains("too many connections for role") {
                        "role limit".to_string()
                    } else {
                        text
                    }
                }
            };
            // Stays open: postgres_fdw keeps its connection on B until the session ends.
            tokio::time::sleep(Duration::from_secs(5)).await;
            drop(client);
            outcome
        }
    });
    let mut got = BTreeMap::new();
    for outcome in futures_util::future::join_all(runs).await {
        *got.entry(outcome).or_insert(0) += 1;
    }
    stop.store(true, Ordering::Relaxed);
    (got, peak.await.unwrap())
}

async fn fdw_limit(stack: &Stack, role: &str) -> i32 {
    let b = stack.clusters.superuser('b', "orders").await;
    b.query_one("SELECT rolconnlimit FROM pg_roles WHERE rolname = $1", &[&role])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn interactive_sessions_over_the_budget_are_refused_by_the_role_after_b_shrinks() {
    let stack = Stack::get();
    let _turn = stack.exclusive().await;
    let link = stack.create_link("shrunk").await;
    assert_eq!(
        fdw_limit(stack, &link.fdw_user).await,
        65,
        "a third of B's 197 ordinary slots at Create"
    );
    let _b50 = stack.clusters.restart_with('b', &[("max_connections", "50")]);
    let n = sessions();

    let (before, peak_before) = interactive_burst(stack, &link, n).await;
    println!("case 2, B at 50 with the budget sized at 200 (65), {n} sessions: {before:?}; peak FDW sessions on B {peak_before}");
    let refused_by_slots = before
        .iter()
        .filter(|(k, _)| {
            k.contains("remaining connection slots are reserved") || k.contains("too many clients already")
        })
        .map(|(_, v)| v)
        .sum::<usize>();
    assert!(
        refused_by_slots > 0,
        "with the budget sized for 200, B's last slots should refuse sessions: {before:?}"
    );

    // The scheduled refresh, as EventBridge Scheduler invokes fdw-bootstrap.
    let event =
        json!({"Action": "Refresh", "LocalCluster": link.properties["LocalCluster"], "ServerNames": [link.server]});
    let answer = stack
        .functions
        .spawn_function_as(
            env!("CARGO_BIN_EXE_fdw-bootstrap"),
            &event,
            DeadlineHeader::In(Duration::from_secs(60)),
            &[],
        )
        .await
        .answer(Duration::from_secs(60))
        .await
        .unwrap_or_else(|e| panic!("the refresh failed: {e}"));
    let answer: Value = serde_json::from_str(&answer).unwrap();
    let statements = answer["Links"][0]["Statements"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        statements.first().and_then(Value::as_str),
        Some(
            format!(
                "ALTER ROLE {} CONNECTION LIMIT 15",
                fdw_bridge::pg::ident(&link.fdw_user)
            )
            .as_str()
        ),
        "the budget first: {answer}"
    );
    assert_eq!(
        fdw_limit(stack, &link.fdw_user).await,
        15,
        "a third of B's 47 ordinary slots"
    );

    let (after, peak_after) = interactive_burst(stack, &link, n).await;
    println!("case 2 after the refresh (budget 15), {n} sessions: {after:?}; peak FDW sessions on B {peak_after}");
    let other: Vec<(&String, &usize)> = after.iter().filter(|(k, _)| *k != "ok" && *k != "role limit").collect();
    assert!(
        other.is_empty(),
        "sessions refused otherwise than by the role's limit: {other:?}"
    );
    assert!(after.get("ok").is_some_and(|ok| *ok >= 1), "{after:?}");
    assert!(peak_after <= 15, "the FDW role went over its limit: {peak_after}");
    stack.delete_link(&link).await;
}

/// The budget pass runs before, and apart from, the link's convergence: a
/// link that cannot be refreshed (a role of its LocalRoles dropped on A, so
/// its plan is refused before either cluster is changed) still gets a budget
/// that fits the B it has now, and the refresh fails naming the cause.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_refresh_fits_the_budget_first_even_when_the_link_cannot_be_refreshed() {
    let stack = Stack::get();
    let _turn = stack.exclusive().await;
    let analyst = fdw_bridge_testkit::unique("analyst");
    let a = stack.clusters.superuser('a', "users").await;
    let quoted = fdw_bridge::pg::ident(&analyst);
    a.batch_execute(&format!("CREATE ROLE {quoted} LOGIN")).await.unwrap();
    let link = stack
        .create_link_with("budgetfirst", |p| p["LocalRoles"] = json!(["report_reader", analyst]))
        .await;
    assert_eq!(fdw_limit(stack, &link.fdw_user).await, 65);
    let _b50 = stack.clusters.restart_with('b', &[("max_connections", "50")]);
    a.batch_execute(&format!("DROP OWNED BY {quoted}; DROP ROLE {quoted}"))
        .await
        .unwrap();

    let event =
        json!({"Action": "Refresh", "LocalCluster": link.properties["LocalCluster"], "ServerNames": [link.server]});
    let failed = stack
        .functions
        .spawn_function_as(
            env!("CARGO_BIN_EXE_fdw-bootstrap"),
            &event,
            DeadlineHeader::In(Duration::from_secs(60)),
            &[],
        )
        .await
        .answer(Duration::from_secs(60))
        .await
        .expect_err("the link cannot be refreshed: its LocalRoles names a dropped role");
    assert!(
        failed.contains("RefreshFailed") || failed.contains(&analyst),
        "{failed}"
    );
    assert_eq!(
        fdw_limit(stack, &link.fdw_user).await,
        15,
        "the budget follows B although the link's refresh failed"
    );

    a.batch_execute(&format!("CREATE ROLE {quoted} LOGIN")).await.unwrap();
    stack.delete_link(&link).await;
    a.batch_execute(&format!("DROP ROLE IF EXISTS {quoted}")).await.unwrap();
}
