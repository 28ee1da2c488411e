//! How long a Create and a Delete take through the real handler against the
//! local stack: for the sample schema (2 remote tables) and for schemas of 10
//! and 300 remote tables. Prints a table of medians; asserts nothing about time.
//!
//!     make bench            (or: cargo bench -p fdw-bootstrap --bench create_link)

// Test code: a failed step panics with its message, which fails the test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use fdw_bridge_testkit as harness;

use harness::{unique, Stack};
use serde_json::json;
use std::time::Duration;

const RUNS: usize = 5;
/// Remote schemas of this many tables (issue 13: a Create for 10 and 300).
const WIDE: [usize; 2] = [10, 300];

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let stack = Stack::get();
    let bootstrap = stack.bootstrap().await;

    // Remote schemas of 10 and 300 tables, 6 columns each, a few rows each.
    let b = stack.clusters.superuser('b', "orders").await;
    let mut ddl = String::new();
    for n in WIDE {
        ddl.push_str(&format!(
            "DROP SCHEMA IF EXISTS bench_wide_{n} CASCADE; CREATE SCHEMA bench_wide_{n} AUTHORIZATION orders_admin;"
        ));
        for i in 0..n {
            ddl.push_str(&format!(
                "CREATE TABLE bench_wide_{n}.t{i:03} (id bigint PRIMARY KEY, name text, amount numeric(12,2), \
                 created_at timestamptz, flags int[], payload jsonb);
                 INSERT INTO bench_wide_{n}.t{i:03} SELECT g, 'n' || g, g * 1.5, now(), ARRAY[g], '{{}}' FROM generate_series(1, 50) g;
                 ALTER TABLE bench_wide_{n}.t{i:03} OWNER TO orders_admin;"
            ));
        }
    }
    b.batch_execute(&ddl).await.expect("creating bench_wide on cluster B");

    println!("fdw-bootstrap Create/Delete through the handler, local stack, median of {RUNS} runs");
    println!(
        "{:<38} {:>8} {:>12} {:>12}",
        "remote schema", "tables", "Create", "Delete"
    );
    let mut schemas = vec![("public (sample: orders, order_items)".to_string(), "public".to_string())];
    for n in WIDE {
        schemas.push((format!("bench_wide_{n} ({n} tables)"), format!("bench_wide_{n}")));
    }
    for (label, remote_schema) in schemas {
        let (mut creates, mut deletes) = (Vec::new(), Vec::new());
        let mut tables = String::new();
        for _ in 0..RUNS {
            let user = unique("fdw_bench");
            let secret = stack.fdw_secret(&user, "bench-pw-0").await;
            let mut props = stack.properties(&unique("bench_link"), &unique("bench_remote"), &secret);
            props["ImportSchemas"][0]["RemoteSchema"] = json!(remote_schema);
            let created = stack
                .invoke(
                    &bootstrap,
                    stack.event("Create", &unique("bench-c"), None, &props),
                    Duration::from_secs(300),
                )
                .await;
            created.assert_success();
            tables = created.data("TableCount").to_string();
            creates.push(created.elapsed);
            let id = created.answer.physical_resource_id.clone();
            let deleted = stack
                .invoke(
                    &bootstrap,
                    stack.event("Delete", &unique("bench-d"), Some(&id), &props),
                    Duration::from_secs(300),
                )
                .await;
            deleted.assert_success();
            deletes.push(deleted.elapsed);
        }
        println!(
            "{:<38} {:>8} {:>10.0}ms {:>10.0}ms",
            label,
            tables,
            median(creates).as_secs_f64() * 1000.0,
            median(deletes).as_secs_f64() * 1000.0
        );
    }
    for n in WIDE {
        b.batch_execute(&format!("DROP SCHEMA bench_wide_{n} CASCADE"))
            .await
            .expect("dropping bench_wide");
    }
}
