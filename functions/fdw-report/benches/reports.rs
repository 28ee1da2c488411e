//! Each shipped report's median time through fdw-bridge's link beside the same
//! SQL over co-located tables, in one run. Figures, not pass/fail.
//!
//! Meant for 100,000 users / 1,000,000 orders, on a stack of its own so the
//! shared test stack keeps its scale (`make bench` does this):
//!   FDW_STACK_DIR=/tmp/fdw-bench-stack stack/stack.sh up --users 100000 --orders 1000000
//!   FDW_STACK_DIR=/tmp/fdw-bench-stack cargo bench -p fdw-report --bench reports

// Test code: a failed step panics with its message, which fails the test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Utc};
use fdw_bridge::report::Catalog;
use fdw_bridge::report::{as_json_rows, params};
use fdw_bridge_testkit as harness;
use std::time::{Duration, Instant};
use tokio_postgres::Client;

const RUNS: usize = 7;
/// A schedule time inside the sample data (orders span 2025-01-01 .. 2026-11-01).
const SCHEDULED: &str = "2026-03-04T06:00:00Z";

async fn median_ms(
    client: &Client,
    sql: &str,
    report: &fdw_bridge::report::Report,
    window: &fdw_bridge::report::Window,
) -> (f64, usize) {
    let statement = client.prepare(sql).await.expect("prepare");
    let p = params(report, window);
    let rows = client.query(&statement, &p).await.expect("warm-up run").len();
    let mut times: Vec<Duration> = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let started = Instant::now();
        let n = client.query(&statement, &p).await.expect("run").len();
        times.push(started.elapsed());
        assert_eq!(n, rows, "{}: row count changed between runs", report.name);
    }
    times.sort();
    (times[RUNS / 2].as_secs_f64() * 1000.0, rows)
}

#[tokio::main]
async fn main() {
    let stack = harness::Stack::get();
    let users: u64 = stack.var("STACK_USERS").parse().unwrap_or(0);
    let orders: u64 = stack.var("STACK_ORDERS").parse().unwrap_or(0);
    println!(
        "fdw-report bench: stack {} ({users} users, {orders} orders), median of {RUNS} runs after a warm-up",
        stack.var("STACK_DIR")
    );
    if users < 100_000 || orders < 1_000_000 {
        println!("note: the target scale is 100,000 users / 1,000,000 orders (see `make bench`)");
    }
    let link = stack.create_link("bench").await;
    let through_link = stack
        .login('a', "users", "report_reader", stack.var("REPORT_READER_PASSWORD"))
        .await;
    let colocated = stack
        .login('a', "colocated", "users_admin", stack.var("USERS_ADMIN_PASSWORD"))
        .await;
    for c in [&through_link, &colocated] {
        c.batch_execute("SET TimeZone = 'UTC'").await.expect("set");
    }
    let at: DateTime<Utc> = DateTime::parse_from_rfc3339(SCHEDULED)
        .expect("time")
        .with_timezone(&Utc);
    let catalog = Catalog::shipped().expect("catalog");
    println!();
    println!("| report | window | rows | via link (ms) | co-located (ms) | ratio |");
    println!("| --- | --- | ---: | ---: | ---: | ---: |");
    let mut worst: f64 = 0.0;
    for report in catalog.reports() {
        let window = report.window.before(at);
        let (link_ms, link_rows) = median_ms(
            &through_link,
            &as_json_rows(&report.sql(&link.local_schema)),
            report,
            &window,
        )
        .await;
        let (local_ms, local_rows) = median_ms(&colocated, &as_json_rows(&report.sql("public")), report, &window).await;
        assert_eq!(
            link_rows, local_rows,
            "{}: the link and co-located disagree",
            report.name
        );
        let ratio = link_ms / local_ms;
        worst = worst.max(ratio);
        println!(
            "| {} | {} {} | {} | {:.1} | {:.1} | {:.2}x |",
            report.name,
            report.window.name(),
            window,
            link_rows,
            link_ms,
            local_ms,
            ratio
        );
    }
    println!();
    println!("worst ratio {worst:.2}x (target: 1.5x or less)");
    stack.delete_link(&link).await;
}
