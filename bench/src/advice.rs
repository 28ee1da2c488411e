//! The advisor in the bench: each user-written shape is handed to
//! `fdw_bridge.advise` on A through fdw-bridge's link (as report_reader, as a
//! user would call it), and its whole-query rewrite becomes the case
//! `<shape>.advised`, timed the three ways beside the shape (same rows checked
//! by `same_answers`). Also what the advice costs on top of the shape's own
//! EXPLAIN (median of a few calls).

use crate::measure::median_ms;
use crate::shapes::{shape, Case};
use std::time::{Duration, Instant};
use tokio_postgres::Client;

/// What the advisor said about one shape.
pub struct Advised {
    pub shape: String,
    /// The patterns named, distinct, in the advice's order ("none": nothing to change).
    pub patterns: Vec<String>,
    /// Whether the advice gives a whole-query rewrite (the case `<shape>.advised`).
    pub rewritten: bool,
    /// Median ms of `EXPLAIN (VERBOSE, FORMAT JSON)` of the shape, and of `fdw_bridge.advise` of it.
    pub explain_ms: f64,
    pub advise_ms: f64,
}

const CALLS: usize = 7;

/// Asks the advisor about each shape through `bridge` (whose foreign tables are
/// in `schema`): what it said, and the rewrites as cases.
pub async fn advise_all(bridge: &Client, schema: &str, shapes: &[Case]) -> (Vec<Advised>, Vec<Case>) {
    let mut out = Vec::new();
    let mut cases = Vec::new();
    for s in shapes.iter().filter(|c| c.kind == "shape" && !c.name.contains('.')) {
        let sql = s.sql(schema);
        let rows = bridge
            .query("SELECT pattern, rewrite FROM fdw_bridge.advise($1)", &[&sql])
            .await
            .unwrap_or_else(|e| panic!("advice on {}: {e:?}", s.name));
        let mut patterns: Vec<String> = Vec::new();
        for r in &rows {
            let p: String = r.get(0);
            if !patterns.contains(&p) {
                patterns.push(p);
            }
        }
        // The first whole query among the rewrites: the one a user would paste.
        let rewrite = rows.iter().filter_map(|r| r.get::<_, Option<String>>(1)).find(|w| {
            let w = w.trim_start().to_ascii_uppercase();
            w.starts_with("SELECT") || w.starts_with("WITH")
        });
        let case = rewrite.map(|w| {
            shape(
                &format!("{}.advised", s.name),
                &w.replace(&format!("{schema}."), "{r}."),
            )
        });
        let explain = format!("EXPLAIN (VERBOSE, FORMAT JSON) {sql}");
        let explain_ms = timed(bridge, &explain, &[]).await;
        let advise_ms = timed(bridge, "SELECT * FROM fdw_bridge.advise($1)", &[&sql]).await;
        println!(
            "[bench] advice on {}: {} ({explain_ms:.1} ms EXPLAIN, {advise_ms:.1} ms advice)",
            s.name,
            patterns.join(", ")
        );
        out.push(Advised {
            shape: s.name.clone(),
            patterns,
            rewritten: case.is_some(),
            explain_ms,
            advise_ms,
        });
        cases.extend(case);
    }
    (out, cases)
}

/// The advice's cost beside each shape's EXPLAIN, as a Markdown table.
pub fn overhead_table(advised: &[Advised], users: u64, orders: u64) -> String {
    let mut out = format!(
        "\nThe advice on each shape, {users} users x {orders} orders, loopback: patterns named; median of {CALLS} calls (ms)\n\n\
         | shape | advice | whole-query rewrite | EXPLAIN (VERBOSE, FORMAT JSON) | fdw_bridge.advise | advice - EXPLAIN |\n\
         | --- | --- | --- | ---: | ---: | ---: |\n"
    );
    for a in advised {
        out.push_str(&format!(
            "| {} | {} | {} | {:.1} | {:.1} | {:+.1} |\n",
            a.shape,
            a.patterns.join(", "),
            if a.rewritten { "yes" } else { "no" },
            a.explain_ms,
            a.advise_ms,
            a.advise_ms - a.explain_ms
        ));
    }
    out
}

async fn timed(client: &Client, sql: &str, params: &[&(dyn tokio_postgres::types::ToSql + Sync)]) -> f64 {
    let mut times: Vec<Duration> = Vec::with_capacity(CALLS);
    for _ in 0..CALLS {
        let started = Instant::now();
        client
            .query(sql, params)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
        times.push(started.elapsed());
    }
    median_ms(&mut times)
}
