//! Issue 19, through the Lambda Runtime API: fdw-report's own binary, each
//! invocation a process of its own asking a loopback Runtime API for its event
//! (as Lambda's sandboxes and `cargo lambda watch --concurrency` run it), the
//! deadline header included.
//!
//! - The deadline header as `cargo lambda watch` sends it (the constant
//!   600000): a report refused a slot by B is still retried.
//! - Case 1: the link created with B at `max_connections` 200 (the FDW role's
//!   budget 65), B then restarted at 50 without an Update or a refresh, a
//!   superuser holding ACCESS EXCLUSIVE on `orders` on B so that reports pile
//!   up, and many invocations at once, every report each
//!   (`FDW_BUDGET_INVOCATIONS`, default 25; the 100 with
//!   `FDW_BUDGET_INVOCATIONS=100 FDW_BUDGET_LOCK_SECONDS=20`). Target: no
//!   failed or timed-out report; B's own application never refused, and B
//!   keeps at least a third of its ordinary slots free.

use crate::common::{clear_windows, day_event, report_env};
use chrono::{Duration as Days, NaiveDate};
use fdw_bridge_testkit::{DeadlineHeader, Stack};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_emulators_deadline_header_still_leaves_time_to_retry() {
    let stack = Stack::get();
    let _turn = stack.shared().await;
    let link = stack.create_link("emudeadline").await;
    let b = stack.clusters.superuser('b', "orders").await;
    // B refuses the FDW role for a while: its one allowed session is taken.
    b.batch_execute(&format!(
        "ALTER ROLE {} CONNECTION LIMIT 1",
        fdw_bridge::pg::ident(&link.fdw_user)
    ))
    .await
    .unwrap();
    let held = stack
        .clusters
        .login('b', "orders", &link.fdw_user, &link.fdw_password)
        .await;
    let day = NaiveDate::from_ymd_opt(2022, 3, 1).unwrap();
    let (event, w) = day_event(&["revenue_by_country_segment"], day, "emudeadline");
    clear_windows(stack, &[w]).await;
    let process = stack
        .functions
        .spawn_function_as(
            env!("CARGO_BIN_EXE_fdw-report"),
            &event,
            DeadlineHeader::CargoLambdaWatch,
            &report_env(stack, &link),
        )
        .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    drop(held);
    let answer = process.answer(Duration::from_secs(60)).await;
    let body = answer.unwrap_or_else(|e| {
        panic!("with cargo lambda watch's deadline header (600000) the refused report was not retried: {e}")
    });
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["reports"][0]["status"], "succeeded", "{answer}");
    stack.delete_link(&link).await;
}

/// Peak client sessions on B per role, and of ordinary (non-superuser) roles
/// in all, sampled every 20 ms until `stop`.
fn watch_b(stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<(BTreeMap<String, i64>, i64)> {
    tokio::spawn(async move {
        let b = Stack::get().clusters.superuser('b', "orders").await;
        let (mut by_role, mut all) = (BTreeMap::<String, i64>::new(), 0i64);
        while !stop.load(Ordering::Relaxed) {
            let rows = b
                .query(
                    "SELECT coalesce(usename::text, '?'), count(*) FROM pg_stat_activity
                      WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() GROUP BY 1",
                    &[],
                )
                .await
                .unwrap();
            let mut total = 0;
            for r in rows {
                let (role, n): (String, i64) = (r.get(0), r.get(1));
                if role != "postgres" {
                    total += n;
                }
                let peak = by_role.entry(role).or_default();
                *peak = (*peak).max(n);
            }
            all = all.max(total);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        (by_role, all)
    })
}

/// B's own application: a new session as orders_admin every 100 ms until
/// `stop`; returns (sessions that worked, refusals).
fn b_application(stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<(usize, Vec<String>)> {
    tokio::spawn(async move {
        let stack = Stack::get();
        let (mut ok, mut refused) = (0, Vec::new());
        while !stop.load(Ordering::Relaxed) {
            let target = fdw_bridge::pg::ConnectTarget {
                label: "cluster B's application".into(),
                endpoint: fdw_bridge::aws::Endpoint {
                    host: "127.0.0.1".into(),
                    port: stack.clusters.port('b'),
                },
                dbname: "orders".into(),
                user: stack.var("ORDERS_ADMIN_USER").into(),
                password: stack.var("ORDERS_ADMIN_PASSWORD").into(),
                credential_source: "test".into(),
            };
            match stack.clusters.connector().connect(&target).await {
                Ok(c) if c.simple_query("SELECT 1").await.is_ok() => ok += 1,
                Ok(_) => refused.push("SELECT 1 failed".to_string()),
                Err(e) => refused.push(e.to_string()),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        (ok, refused)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn b_shrunk_after_create_under_a_burst_of_invocations_fails_no_report() {
    let stack = Stack::get();
    let _turn = stack.exclusive().await;
    // Created while B has the stack's 200 connections: the FDW role's budget is 65.
    let link = stack.create_link("shrunk").await;
    let limit = stack.clusters.connection_limit_on_b(&link.fdw_user).await;
    let b = stack.clusters.superuser('b', "orders").await;
    assert_eq!(limit, 65, "a third of B's 197 slots for ordinary roles at Create");
    drop(b);
    // Then B is resized: restarted at 50 (47 slots for ordinary roles), no Update.
    let _b50 = stack.clusters.restart_with('b', &[("max_connections", "50")]);

    let invocations = env_number("FDW_BUDGET_INVOCATIONS", 25) as usize;
    let lock_for = Duration::from_secs(env_number("FDW_BUDGET_LOCK_SECONDS", 5));
    let first = NaiveDate::from_ymd_opt(2021, 1, 1).unwrap();
    let mut events = Vec::new();
    for i in 0..invocations {
        let (event, w) = day_event(&["all"], first + Days::days(i as i64), "shrunk");
        clear_windows(stack, &[w]).await;
        events.push((event, w));
    }

    // A superuser holds orders on B, so that the first reports wait there and the rest pile up.
    let locker = stack.clusters.superuser('b', "orders").await;
    locker
        .batch_execute("BEGIN; LOCK TABLE public.orders IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let (peaks, app) = (watch_b(Arc::clone(&stop)), b_application(Arc::clone(&stop)));
    let started = Instant::now();
    let env = report_env(stack, &link);
    let mut processes = Vec::new();
    for (event, _) in &events {
        processes.push(
            stack
                .functions
                .spawn_function_as(
                    env!("CARGO_BIN_EXE_fdw-report"),
                    event,
                    DeadlineHeader::In(Duration::from_secs(300)),
                    &env,
                )
                .await,
        );
    }
    let release = tokio::spawn(async move {
        tokio::time::sleep(lock_for).await;
        locker.batch_execute("COMMIT").await.unwrap();
    });
    let answers =
        futures_util::future::join_all(processes.into_iter().map(|p| p.answer(Duration::from_secs(320)))).await;
    let took = started.elapsed();
    release.await.unwrap();
    stop.store(true, Ordering::Relaxed);
    let (peaks, all) = peaks.await.unwrap();
    let (app_ok, app_refused) = app.await.unwrap();

    // Every report's record on A, whatever the invocation answered.
    let a = stack.clusters.superuser('a', "users").await;
    let (mut by_status, mut errors) = (BTreeMap::<String, usize>::new(), Vec::new());
    for (_, w) in &events {
        for r in a
            .query(
                "SELECT report, status, coalesce(error, '') FROM fdw_reports.runs WHERE window_start = $1 AND window_end = $2",
                &[&w.start, &w.end],
            )
            .await
            .unwrap()
        {
            let status: String = r.get(1);
            if status != "succeeded" {
                errors.push(format!("{} {w}: {status}: {}", r.get::<_, String>(0), r.get::<_, String>(2)));
            }
            *by_status.entry(status).or_default() += 1;
        }
    }
    let failed_invocations: Vec<String> = answers.into_iter().filter_map(Result::err).collect();
    let fdw_peak = peaks.get(&link.fdw_user).copied().unwrap_or(0);
    println!(
        "case 1: link created at max_connections 200 (budget 65), B restarted at 50, orders locked {lock_for:?}, \
         {invocations} invocations through the Runtime API: reports by status {by_status:?} in {took:?}; \
         {} invocation(s) failed; peak client sessions on B {all} (by role {peaks:?}); \
         B's application: {app_ok} sessions, {} refused",
        failed_invocations.len(),
        app_refused.len()
    );
    for e in failed_invocations.iter().take(3) {
        println!("a failed invocation: {e}");
    }
    assert_eq!(
        by_status.values().sum::<usize>(),
        invocations * 4,
        "a report has no record"
    );
    assert!(errors.is_empty(), "reports failed: {errors:?}");
    assert!(
        failed_invocations.is_empty(),
        "invocations failed: {failed_invocations:?}"
    );
    assert!(app_refused.is_empty(), "B refused its own application: {app_refused:?}");
    // B's 47 ordinary slots: at least a third kept free (docs/sizing.md).
    assert!(
        all <= 47 - 47 / 3,
        "B had {all} client sessions at once: less than a third of its slots free"
    );
    assert!(
        fdw_peak >= 2,
        "the reports hardly reached B ({fdw_peak} FDW sessions at most)"
    );
    stack.delete_link(&link).await;
}
