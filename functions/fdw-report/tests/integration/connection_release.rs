//! How a report session should give back its connection on cluster B, measured
//! (issue 11: `postgres_fdw_disconnect_all()` or `keep_connections 'off'`).
//! A report session on A that stays open after its report (a pooled session,
//! e.g. behind RDS Proxy, where closing the client does not end the backend)
//! keeps its FDW connection on B unless it is released; three ways:
//! - `held`: nothing done: the connection stays until the session ends;
//! - `disconnect_all`: `SELECT postgres_fdw_disconnect_all()` after the report
//!   (what fdw-report's runner does);
//! - `keep_off`: the server option `keep_connections 'off'` (server-wide, so
//!   every interactive session pays a new connection per transaction too).
//!
//! For each: a shipped report's latency (median of 15) and the FDW connections
//! left on B while the session stays open; then an interactive session's point
//! query with keep_connections on and off. Prints the figures (docs/sizing.md,
//! "Releasing a report's connection") and asserts what each way releases.

use crate::common::{clear_windows, function, window};
use fdw_bridge::report::{as_json_rows, params, Catalog};
use fdw_bridge_testkit as harness;
use std::time::{Duration, Instant};
use tokio_postgres::Client;

const RUNS: usize = 15;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn fdw_sessions(b: &Client, user: &str) -> i64 {
    b.query_one("SELECT count(*) FROM pg_stat_activity WHERE usename = $1", &[&user])
        .await
        .unwrap()
        .get(0)
}

async fn set_keep_connections(stack: &harness::Stack, server: &str, value: &str) {
    let a = stack.clusters.superuser('a', "users").await;
    let alter: String = a
        .query_one(
            "SELECT format('ALTER SERVER %I OPTIONS (%s keep_connections %L)', s.srvname,
                    CASE WHEN EXISTS (SELECT 1 FROM pg_options_to_table(s.srvoptions) WHERE option_name = 'keep_connections')
                         THEN 'SET' ELSE 'ADD' END, $2::text)
               FROM pg_foreign_server s WHERE s.srvname = $1",
            &[&server, &value],
        )
        .await
        .unwrap()
        .get(0);
    a.batch_execute(&alter).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_sessions_release_their_connection_on_b_measured_three_ways() {
    let stack = harness::Stack::get();
    let _turn = stack.shared().await;
    let link = stack.create_link("release").await;
    let catalog = Catalog::shipped().unwrap();
    let report = catalog.get("top_customers_by_spend").unwrap();
    let sql = as_json_rows(&report.sql(&link.local_schema));
    let w = window("2025-09-01T00:00:00Z", "2025-09-08T00:00:00Z");
    let b = stack.clusters.superuser('b', "orders").await;
    let password = stack.var("REPORT_READER_PASSWORD").to_string();
    let mut lines = Vec::new();

    // fdw-report's runner releases them (the server log on A shows the call, as report_reader).
    let log = stack.var("PG_A_LOG");
    let from = std::fs::metadata(log).unwrap().len() as usize;
    clear_windows(stack, &[w]).await;
    function(stack, &link.local_schema, catalog.clone())
        .await
        .handle(
            &serde_json::json!({"reports": ["top_customers_by_spend"], "scheduledTime": "2025-09-08T06:00:00Z",
                                "window": {"start": "2025-09-01T00:00:00Z", "end": "2025-09-08T00:00:00Z"}}),
            &harness::unique("req"),
        )
        .await
        .unwrap();
    let written = std::fs::read(log).unwrap();
    let tail = String::from_utf8_lossy(&written[from.min(written.len())..]);
    assert!(
        tail.lines()
            .any(|l| l.contains("report_reader@users") && l.contains("postgres_fdw_disconnect_all()")),
        "the runner did not release its connections on B"
    );

    for way in ["held", "disconnect_all", "keep_off"] {
        set_keep_connections(stack, &link.server, if way == "keep_off" { "off" } else { "on" }).await;
        let (mut took, mut left) = (Vec::new(), Vec::new());
        for _ in 0..RUNS {
            let mut a = stack.clusters.login('a', "users", "report_reader", &password).await;
            let started = Instant::now();
            let tx = a.build_transaction().read_only(true).start().await.unwrap();
            let rows = tx.query(&sql, &params(report, &w)).await.unwrap();
            tx.commit().await.unwrap();
            if way == "disconnect_all" {
                a.simple_query("SELECT postgres_fdw_disconnect_all()").await.unwrap();
            }
            took.push(started.elapsed());
            assert!(!rows.is_empty());
            // The session stays open, as a pooled one would; B's backend of a
            // closed connection takes a moment to exit.
            tokio::time::sleep(Duration::from_millis(100)).await;
            left.push(fdw_sessions(&b, &link.fdw_user).await);
            drop(a);
            let gone = Instant::now();
            while fdw_sessions(&b, &link.fdw_user).await > 0 {
                assert!(
                    gone.elapsed() < Duration::from_secs(5),
                    "{way}: B's connection outlived the session"
                );
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        let held = *left.iter().max().unwrap();
        lines.push(format!(
            "{way}: report median {:?}; FDW connections left on B while the session stays open: {held}",
            median(took)
        ));
        assert_eq!(held, i64::from(way == "held"), "{way}: connections left on B: {left:?}");
    }

    // An interactive session: 20 point queries, one transaction each.
    for keep in ["on", "off"] {
        set_keep_connections(stack, &link.server, keep).await;
        let a = stack.clusters.login('a', "users", "report_reader", &password).await;
        let query = format!(
            "SELECT count(*) FROM {}.orders WHERE id = $1",
            fdw_bridge::pg::ident(&link.local_schema)
        );
        a.query_one(&query, &[&1i64]).await.unwrap();
        let mut took = Vec::new();
        for id in 0..20i64 {
            let started = Instant::now();
            a.query_one(&query, &[&(id * 37 + 1)]).await.unwrap();
            took.push(started.elapsed());
        }
        lines.push(format!(
            "interactive point query, keep_connections {keep}: median {:?}",
            median(took)
        ));
    }
    println!("{}", lines.join("\n"));
    set_keep_connections(stack, &link.server, "on").await;
    stack.delete_link(&link).await;
}
