//! Point lookups through fdw-bridge's link: latency percentiles on a warm
//! session and on a fresh connection (TLS + SCRAM to A, then A's first
//! connection to B), and queries per second with 1, 10 and 100 sessions.

use fdw_bridge_testkit::Stack;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_postgres::Client;

pub struct Percentiles {
    pub samples: usize,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
}

fn percentiles(mut ms: Vec<f64>) -> Percentiles {
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() as f64 - 1.0) * q).round() as usize];
    Percentiles {
        samples: ms.len(),
        p50: at(0.50),
        p95: at(0.95),
        p99: at(0.99),
    }
}

fn lookup_sql(schema: &str) -> String {
    format!(
        "SELECT id, user_id, status, total_cents FROM {}.orders WHERE id = $1",
        fdw_bridge::pg::ident(schema)
    )
}

/// A deterministic spread of order ids over 1..=orders.
fn order_id(i: u64, orders: u64) -> i64 {
    (1 + (i.wrapping_mul(2_654_435_761) % orders)) as i64
}

async fn reader(stack: &Stack) -> Client {
    stack.clusters.report_reader().await
}

pub async fn warm(stack: &Stack, schema: &str, orders: u64, n: u64) -> Percentiles {
    let client = reader(stack).await;
    let statement = client.prepare(&lookup_sql(schema)).await.expect("prepare lookup");
    for i in 0..50 {
        client
            .query_one(&statement, &[&order_id(i, orders)])
            .await
            .expect("warm-up lookup");
    }
    let mut ms = Vec::with_capacity(n as usize);
    for i in 0..n {
        let started = Instant::now();
        client
            .query_one(&statement, &[&order_id(i + 50, orders)])
            .await
            .expect("lookup");
        ms.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    percentiles(ms)
}

/// Connect, look up one order, disconnect: what a fresh Lambda invocation or a
/// pooler-less client pays.
pub async fn fresh(stack: &Stack, schema: &str, orders: u64, n: u64) -> Percentiles {
    let sql = lookup_sql(schema);
    let mut ms = Vec::with_capacity(n as usize);
    for i in 0..n {
        let started = Instant::now();
        let client = reader(stack).await;
        client.query_one(&sql, &[&order_id(i, orders)]).await.expect("lookup");
        ms.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    percentiles(ms)
}

/// Lookups per second with `sessions` sessions each looking up in a loop for `span`.
pub async fn throughput(stack: &'static Stack, schema: &str, orders: u64, sessions: u64, span: Duration) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let mut clients = Vec::with_capacity(sessions as usize);
    for _ in 0..sessions {
        let c = reader(stack).await;
        // First lookup opens this session's connection to B before the clock starts.
        c.query_one(&lookup_sql(schema), &[&1i64]).await.expect("first lookup");
        clients.push(c);
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (s, client) in clients.into_iter().enumerate() {
        let done = done.clone();
        let sql = lookup_sql(schema);
        tasks.push(tokio::spawn(async move {
            let statement = client.prepare(&sql).await.expect("prepare");
            let mut i = s as u64 * 1_000_003;
            while started.elapsed() < span {
                client
                    .query_one(&statement, &[&order_id(i, orders)])
                    .await
                    .expect("lookup");
                done.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
        }));
    }
    for t in tasks {
        t.await.expect("session task");
    }
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}
