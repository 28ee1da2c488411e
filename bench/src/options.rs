//! `fdw-bench --options`: which postgres_fdw options pay as the link's defaults.
//! Each user-written shape, as written and as the advisor rewrites it
//! (`<shape>.advised`), through fdw-bridge's link with its defaults (including
//! the remote session's `cursor_tuple_fraction` 1, as libpq `options`) and with
//! one candidate changed at a time (a server or per-table
//! option set by a superuser on A, put back after), beside the co-located
//! floor. Rounds: in each, every variant in turn (each round starts with the
//! next one), its option applied, a warm-up query (ALTER SERVER closes the
//! link's cached connection), then each shape once, planned anew (so that
//! `use_remote_estimate`'s planning round trips count). Shapes faster than
//! 20 ms are timed as the median of 21 calls per round. Median of the rounds.
//! Writes `options.md` and `options.csv` to the output folder.

use crate::measure::median_ms;
use crate::shapes::Case;
use std::fmt::Write as _;
use std::time::{Duration, Instant};
use tokio_postgres::Client;

/// One candidate: SQL to apply and to put the defaults back; `{server}` and
/// `{schema}` are the link's server and local schema.
pub struct Variant {
    pub name: &'static str,
    apply: &'static str,
    revert: &'static str,
}

/// Left out after a first look: `use_remote_estimate` on the server (the shapes read only
/// orders and order_items, so it is the per-table variant), `fetch_size` above 10000 (105
/// FETCHes per million rows already; docs/benchmarks.md), `async_capable` (it overlaps scans
/// of different servers, and every shape reads one), `analyze_sampling` (PostgreSQL 16+,
/// ANALYZE's cost, not a query's).
pub fn variants() -> Vec<Variant> {
    let only: Option<Vec<String>> = std::env::var("FDW_BENCH_VARIANTS")
        .ok()
        .map(|v| v.split(',').map(|s| s.trim().to_string()).collect());
    all_variants()
        .into_iter()
        .filter(|v| v.name == "defaults" || only.as_ref().is_none_or(|o| o.iter().any(|n| n == v.name)))
        .collect()
}

/// Every candidate (`FDW_BENCH_VARIANTS=name,name` keeps only those, beside the defaults).
fn all_variants() -> Vec<Variant> {
    vec![
        Variant {
            name: "defaults",
            apply: "",
            revert: "",
        },
        Variant {
            name: "fdw_tuple_cost 0.01",
            apply: "ALTER SERVER {server} OPTIONS (SET fdw_tuple_cost '0.01')",
            revert: "ALTER SERVER {server} OPTIONS (SET fdw_tuple_cost '0.2')",
        },
        Variant {
            name: "use_remote_estimate (orders, order_items)",
            apply: "ALTER FOREIGN TABLE {schema}.orders OPTIONS (ADD use_remote_estimate 'true');
                    ALTER FOREIGN TABLE {schema}.order_items OPTIONS (ADD use_remote_estimate 'true')",
            revert: "ALTER FOREIGN TABLE {schema}.orders OPTIONS (DROP use_remote_estimate);
                     ALTER FOREIGN TABLE {schema}.order_items OPTIONS (DROP use_remote_estimate)",
        },
        Variant {
            name: "options cursor_tuple_fraction=0.1",
            apply: "ALTER SERVER {server} OPTIONS (SET options '-c cursor_tuple_fraction=0.1')",
            revert: "ALTER SERVER {server} OPTIONS (SET options '-c cursor_tuple_fraction=1')",
        },
        Variant {
            name: "options work_mem=64MB",
            apply: "ALTER SERVER {server} OPTIONS (SET options '-c cursor_tuple_fraction=1 -c work_mem=64MB')",
            revert: "ALTER SERVER {server} OPTIONS (SET options '-c cursor_tuple_fraction=1')",
        },
    ]
}

pub struct Figure {
    pub shape: String,
    pub variant: String,
    pub median_ms: f64,
    pub rows: usize,
}

fn fill(sql: &str, server: &str, schema: &str) -> String {
    sql.replace("{server}", server).replace("{schema}", schema)
}

async fn run(client: &Client, sql: &str) -> (Duration, usize) {
    let started = Instant::now();
    let n = client
        .simple_query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
        .iter()
        .filter(|m| matches!(m, tokio_postgres::SimpleQueryMessage::Row(_)))
        .count();
    (started.elapsed(), n)
}

/// One sample: one call, or the median of 21 for a shape under 20 ms.
async fn sample(client: &Client, sql: &str, fast: bool) -> (Duration, usize) {
    if !fast {
        return run(client, sql).await;
    }
    let mut times = Vec::with_capacity(21);
    let mut rows = 0;
    for _ in 0..21 {
        let (t, n) = run(client, sql).await;
        times.push(t);
        rows = n;
    }
    times.sort();
    (times[10], rows)
}

/// The sweep: `colocated` reads `public`, `bridge` the link's `schema`; `admin` (a superuser
/// on A's `users`) sets the options of `server`.
pub async fn sweep(
    colocated: &Client,
    bridge: &Client,
    admin: &Client,
    server: &str,
    schema: &str,
    cases: &[Case],
    runs: usize,
) -> Vec<Figure> {
    let variants = variants();
    let shapes: Vec<&Case> = cases
        .iter()
        .filter(|c| c.kind == "shape" && (!c.name.contains('.') || c.name.ends_with(".advised")))
        .collect();
    // Warm-up and the co-located rows (and which shapes are fast).
    let mut expected = Vec::new();
    let mut fast = Vec::new();
    for c in &shapes {
        let (t, n) = run(colocated, &c.sql("public")).await;
        let (t2, _) = run(bridge, &c.sql(schema)).await;
        expected.push(n);
        fast.push(t < Duration::from_millis(20) && t2 < Duration::from_millis(20));
    }
    let mut times: Vec<Vec<Vec<Duration>>> = vec![vec![Vec::new(); shapes.len()]; variants.len() + 1];
    for round in 0..runs {
        for (i, c) in shapes.iter().enumerate() {
            let (t, n) = sample(colocated, &c.sql("public"), fast[i]).await;
            assert_eq!(n, expected[i], "{}: co-located rows changed", c.name);
            times[variants.len()][i].push(t);
        }
        for k in 0..variants.len() {
            let v = &variants[(round + k) % variants.len()];
            let vi = (round + k) % variants.len();
            if !v.apply.is_empty() {
                admin
                    .batch_execute(&fill(v.apply, server, schema))
                    .await
                    .unwrap_or_else(|e| panic!("{}: {e:?}", v.name));
            }
            run(bridge, &format!("SELECT 1 FROM {schema}.orders LIMIT 1")).await;
            for (i, c) in shapes.iter().enumerate() {
                let (t, n) = sample(bridge, &c.sql(schema), fast[i]).await;
                assert_eq!(n, expected[i], "{} with {}: other rows than co-located", c.name, v.name);
                times[vi][i].push(t);
            }
            if !v.revert.is_empty() {
                admin
                    .batch_execute(&fill(v.revert, server, schema))
                    .await
                    .unwrap_or_else(|e| panic!("putting back {}: {e:?}", v.name));
            }
            println!("[bench] options: round {} {} done", round + 1, v.name);
        }
    }
    let mut out = Vec::new();
    for (vi, per_shape) in times.iter_mut().enumerate() {
        let name = variants.get(vi).map_or("co-located", |v| v.name);
        for (i, t) in per_shape.iter_mut().enumerate() {
            out.push(Figure {
                shape: shapes[i].name.clone(),
                variant: name.to_string(),
                median_ms: median_ms(t),
                rows: expected[i],
            });
        }
    }
    out
}

/// The sweep as a Markdown table: each variant's median ms and its ratio to the link's defaults.
pub fn table(figures: &[Figure], users: u64, orders: u64, runs: usize) -> String {
    let variants: Vec<&str> = variants().iter().map(|v| v.name).collect();
    let mut shapes: Vec<&str> = Vec::new();
    for f in figures {
        if !shapes.contains(&f.shape.as_str()) {
            shapes.push(&f.shape);
        }
    }
    let get = |s: &str, v: &str| {
        figures
            .iter()
            .find(|f| f.shape == s && f.variant == v)
            .map_or(f64::NAN, |f| f.median_ms)
    };
    let mut out = format!(
        "\nThe as-written shapes through fdw-bridge's link with one option changed from the link's defaults, \
         {users} users x {orders} orders, loopback: median of {runs} rounds (ms; in brackets, the time / the defaults' time)\n\n\
         | shape | co-located | {} |\n| --- | ---: |{}\n",
        variants.join(" | "),
        " ---: |".repeat(variants.len())
    );
    for s in &shapes {
        let base = get(s, "defaults");
        let _ = write!(out, "| {s} | {:.1} |", get(s, "co-located"));
        for v in &variants {
            let t = get(s, v);
            if *v == "defaults" {
                let _ = write!(out, " {t:.1} |");
            } else {
                let _ = write!(out, " {t:.1} ({:.2}) |", t / base);
            }
        }
        out.push('\n');
    }
    let _ = write!(
        out,
        "| total | {:.0} |",
        shapes.iter().map(|s| get(s, "co-located")).sum::<f64>()
    );
    let base: f64 = shapes.iter().map(|s| get(s, "defaults")).sum();
    for v in &variants {
        let t: f64 = shapes.iter().map(|s| get(s, v)).sum();
        if *v == "defaults" {
            let _ = write!(out, " {t:.0} |");
        } else {
            let _ = write!(out, " {t:.0} ({:.2}) |", t / base);
        }
    }
    out.push('\n');
    out
}

pub fn csv(figures: &[Figure], users: u64, orders: u64) -> String {
    let mut out = String::from("users,orders,shape,variant,median_ms,rows\n");
    for f in figures {
        let _ = writeln!(
            out,
            "{users},{orders},{},\"{}\",{:.3},{}",
            f.shape, f.variant, f.median_ms, f.rows
        );
    }
    out
}
