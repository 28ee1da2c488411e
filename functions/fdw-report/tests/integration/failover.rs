//! Issue 24, through the Lambda Runtime API: fdw-report's own binary, one
//! process per scheduled invocation (as Lambda's sandboxes run it), while
//! cluster B or cluster A is down for `FDW_OUTAGE_SECONDS` (30 s unless set),
//! as an Aurora failover or reboot takes the cluster endpoint away.
//!
//! Invocations start before the outage (held mid-report by a lock on B's
//! `orders`, so the outage breaks them in flight) and every 3 s during it.
//! Target: every report of every invocation succeeds, each stored once.
//! And a writer that answers read-only (a demoted writer reached through a
//! stale DNS answer): the invocation retries until the writer is back.

use crate::common::{clear_windows, day_event, report_env};
use chrono::{Duration as Days, NaiveDate};
use fdw_bridge_testkit as harness;
use fdw_bridge_testkit::{outage_length, FunctionProcess, Stack};
use serde_json::Value;
use std::time::{Duration, Instant};

/// What the invocations of one outage did.
#[derive(Debug, Default)]
struct Tally {
    invocations: usize,
    failed_invocations: usize,
    reports: usize,
    failed_reports: usize,
    /// The functions' "retrying" log lines, one per retry.
    retries: usize,
    longest: Duration,
    errors: Vec<String>,
}

impl Tally {
    fn add(&mut self, answer: Result<String, String>, log: &str, took: Duration) {
        self.invocations += 1;
        self.retries += harness::retries_logged(log);
        self.longest = self.longest.max(took);
        let body = match answer {
            Ok(body) => body,
            Err(body) => {
                self.failed_invocations += 1;
                self.errors.push(body.chars().take(600).collect());
                body
            }
        };
        let summary: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        for report in summary["reports"].as_array().into_iter().flatten() {
            self.reports += 1;
            if report["status"] != "succeeded" {
                self.failed_reports += 1;
                self.errors.push(report.to_string());
            }
        }
    }
}

/// Reports started before and during an outage of `cluster`, all answered.
async fn reports_across_an_outage(cluster: char, tag: &str) -> Tally {
    let stack = Stack::get();
    let _turn = stack.exclusive().await;
    let _restart = stack.clusters.restart_on_drop(cluster);
    let link = stack.create_link(tag).await;
    let length = outage_length();
    let first_day = NaiveDate::from_ymd_opt(2021, 1, 1).unwrap();
    let days: Vec<NaiveDate> = (0..20).map(|i| first_day + Days::days(i)).collect();
    let windows: Vec<_> = days.iter().map(|d| day_event(&["all"], *d, tag).1).collect();
    clear_windows(stack, &windows).await;
    let env = report_env(stack, &link);
    // Up to 5 minutes: Lambda's limit is 15; the outage must fit well inside.
    let lambda_timeout = Duration::from_secs(300);
    let mut days = days.into_iter();
    let mut spawn = || {
        let (event, _) = day_event(&["all"], days.next().expect("a day left"), tag);
        let env = env.clone();
        async move {
            let started = Instant::now();
            let process = stack
                .functions
                .spawn_function_with(env!("CARGO_BIN_EXE_fdw-report"), &event, lambda_timeout, &env)
                .await;
            (process, started)
        }
    };

    // Before: held on B's orders, so the outage meets them mid-report.
    let b = stack.clusters.superuser('b', "orders").await;
    b.batch_execute("BEGIN; LOCK TABLE orders IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let mut running: Vec<(FunctionProcess, Instant)> = Vec::new();
    for _ in 0..3 {
        running.push(spawn().await);
    }
    running[0].0.wait_until_blocked('b', "%orders%").await;
    let outage = stack.clusters.outage(cluster, length);
    // B's fast shutdown ended the lock; with A down, the lock has done its part.
    drop(b);
    println!("cluster {cluster} down for {length:?}; invocations every 3 s meanwhile");
    while outage.down_at.elapsed() + Duration::from_secs(3) < length {
        running.push(spawn().await);
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    let down_for = outage.end().await;
    let mut tally = Tally::default();
    for (process, started) in running {
        let (answer, log) = process.answer_and_log(lambda_timeout).await;
        tally.add(answer, &log, started.elapsed());
    }
    println!(
        "cluster {cluster} down {down_for:?}: {} invocations, {} failed; {} reports run, {} failed; {} retries logged; longest invocation {:?}",
        tally.invocations, tally.failed_invocations, tally.reports, tally.failed_reports, tally.retries, tally.longest
    );
    for error in &tally.errors {
        println!("  failed: {error}");
    }
    // Each stored once: one run record per (report, window), succeeded.
    let a = stack.clusters.superuser('a', "users").await;
    for w in &windows[..tally.invocations] {
        let records: i64 = a
            .query_one(
                "SELECT count(*) FROM fdw_reports.runs WHERE window_start = $1 AND window_end = $2 AND status = 'succeeded'",
                &[&w.start, &w.end],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(records, 4, "window {w}: every report stored once");
    }
    stack.delete_link(&link).await;
    tally
}

/// Every invocation and report succeeded, and the outage was met (retried).
fn assert_rode_through(tally: &Tally) {
    assert_eq!(
        (tally.failed_invocations, tally.failed_reports),
        (0, 0),
        "{:#?}",
        tally.errors
    );
    assert!(tally.retries > 0, "nothing was retried: the outage missed the reports");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reports_started_before_and_during_an_outage_of_b_all_succeed() {
    assert_rode_through(&reports_across_an_outage('b', "failover_b").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reports_started_before_and_during_an_outage_of_a_all_succeed() {
    assert_rode_through(&reports_across_an_outage('a', "failover_a").await);
}

/// Cluster A answers but read-only, as the old writer does after a failover
/// to a client whose DNS answer for the cluster endpoint is stale: the run
/// record cannot be written (SQLSTATE 25006). The invocation retries on new
/// sessions and stores its reports once A is a writer again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_writer_demoted_to_read_only_is_retried_until_the_writer_is_back() {
    let stack = Stack::get();
    let _turn = stack.exclusive().await;
    let link = stack.create_link("demoted").await;
    let (event, w) = day_event(&["all"], NaiveDate::from_ymd_opt(2021, 6, 1).unwrap(), "demoted");
    clear_windows(stack, &[w]).await;
    let read_only = stack
        .clusters
        .restart_with('a', &[("default_transaction_read_only", "on")]);
    let started = Instant::now();
    let process = stack
        .functions
        .spawn_function_with(
            env!("CARGO_BIN_EXE_fdw-report"),
            &event,
            Duration::from_secs(120),
            &report_env(stack, &link),
        )
        .await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    // The new writer: A read-write again (reset, restarted).
    drop(read_only);
    let (answer, log) = process.answer_and_log(Duration::from_secs(120)).await;
    let mut tally = Tally::default();
    tally.add(answer, &log, started.elapsed());
    println!("demoted writer: {tally:?}");
    assert_eq!(
        (tally.failed_invocations, tally.failed_reports),
        (0, 0),
        "{:#?}",
        tally.errors
    );
    assert_eq!(tally.reports, 4);
    assert!(
        log.contains("read-only where a writer was expected"),
        "no retry for the read-only writer in the log:\n{log}"
    );
    stack.delete_link(&link).await;
}
