//! Figures for docs/benchmarks.md (not pass/fail): one whole rotation (the four steps
//! through the handler: Secrets Manager on moto, TLS logins to both clusters,
//! ALTER ROLE on B, the mapping switch on A, the probe query), median of 7, for
//! a link with its 2 user mappings and for one with 100 more.
//! `cargo bench -p fdw-rotate --bench rotation` against the local stack.

// Test code: a failed step panics with its message, which fails the test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use fdw_bridge_testkit as harness;
use harness::Stack;
use std::time::{Duration, Instant};

const RUNS: usize = 7;
const STEPS: [&str; 4] = ["createSecret", "setSecret", "testSecret", "finishSecret"];

#[tokio::main]
async fn main() {
    let stack = Stack::get();
    let plain = measure(stack, "bench_rot", 0).await;
    let wide = measure(stack, "bench_rot100", 100).await;
    println!("\nfdw-rotate, one whole rotation (4 steps), median of {RUNS}:");
    println!("  user mappings   median      min      max");
    for (mappings, runs) in [(2, &plain), (102, &wide)] {
        println!(
            "  {mappings:>13} {:>8.0?} {:>8.0?} {:>8.0?}",
            runs[RUNS / 2],
            runs[0],
            runs[RUNS - 1]
        );
    }
}

/// Rotations of a fresh link with `extra` more user mappings; sorted durations.
async fn measure(stack: &Stack, tag: &str, extra: usize) -> Vec<Duration> {
    let link = stack.create_link(tag).await;
    let a = stack.clusters.superuser('a', "users").await;
    // The mappings carry a password: keep this session's statements out of the server log.
    a.batch_execute("SET log_statement = 'none'")
        .await
        .expect("quiet logging");
    let roles: Vec<String> = (0..extra).map(|i| format!("{}_{i}", link.server)).collect();
    for role in &roles {
        let r = fdw_bridge::pg::ident(role);
        a.batch_execute(&format!(
            "CREATE ROLE {r} NOLOGIN; CREATE USER MAPPING FOR {r} SERVER {} OPTIONS (user {}, password {})",
            fdw_bridge::pg::ident(&link.server),
            fdw_bridge::pg::literal(&link.fdw_user),
            fdw_bridge::pg::literal(&link.fdw_password),
        ))
        .await
        .expect("a user mapping for a bench role");
    }
    let secret = stack.rotation_secret(&link, "alternating").await;
    let rotator = stack.rotator().await;
    let mut runs = Vec::new();
    for _ in 0..RUNS {
        let token = stack.aws.start_rotation(&secret).await;
        let started = Instant::now();
        for step in STEPS {
            rotator
                .handle(step, &secret, &token)
                .await
                .unwrap_or_else(|e| panic!("{step}: {e}"));
        }
        runs.push(started.elapsed());
    }
    stack.delete_link(&link).await;
    for role in &roles {
        a.batch_execute(&format!("DROP ROLE {}", fdw_bridge::pg::ident(role)))
            .await
            .expect("drop a bench role");
    }
    runs.sort();
    runs
}
