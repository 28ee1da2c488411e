//! The bench's figures as a Markdown table on stdout and rows of a CSV.

use crate::measure::Sample;
use std::fmt::Write as _;

/// One measured sample with where it was taken.
pub struct Row {
    pub users: u64,
    pub orders: u64,
    /// "loopback" or "+0.5ms" (each way between A and B).
    pub network: String,
    pub sample: Sample,
}

pub const CSV_HEADER: &str = "users,orders,network,case,kind,way,median_ms,runs,rows,fetched_rows,round_trips";

pub fn csv_line(r: &Row) -> String {
    let s = &r.sample;
    let (fetched, trips) = match s.traffic {
        Some(t) => (t.fetched_rows.to_string(), t.round_trips.to_string()),
        None => (String::new(), String::new()),
    };
    format!(
        "{},{},{},{},{},{},{:.3},{},{},{},{}",
        r.users, r.orders, r.network, s.case, s.kind, s.way, s.median_ms, s.runs, s.rows, fetched, trips
    )
}

/// Rows back from a CSV this bench wrote (to redraw the charts: `--chart-only`).
pub fn parse_csv(text: &str) -> Vec<Row> {
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            assert_eq!(f.len(), 11, "results.csv: unexpected line {line:?}");
            let num = |i: usize| -> i64 { f[i].parse().unwrap_or_else(|_| panic!("results.csv: {line:?}")) };
            let way = crate::ways::WAYS
                .iter()
                .find(|w| **w == f[5])
                .unwrap_or_else(|| panic!("results.csv: unknown way in {line:?}"));
            Row {
                users: num(0) as u64,
                orders: num(1) as u64,
                network: f[2].to_string(),
                sample: Sample {
                    case: f[3].to_string(),
                    kind: if f[4] == "report" { "report" } else { "shape" },
                    way,
                    median_ms: f[6].parse().unwrap_or_else(|_| panic!("results.csv: {line:?}")),
                    runs: num(7) as usize,
                    rows: num(8) as usize,
                    digest: String::new(),
                    traffic: if f[9].is_empty() {
                        None
                    } else {
                        Some(crate::traffic::Traffic {
                            fetched_rows: num(9),
                            round_trips: num(10),
                        })
                    },
                },
            }
        })
        .collect()
}

fn find<'a>(rows: &'a [Row], users: u64, network: &str, case: &str, way: &str) -> Option<&'a Row> {
    rows.iter()
        .find(|r| r.users == users && r.network == network && r.sample.case == case && r.sample.way == way)
}

/// The comparison at one scale and network: medians, ratios, and what crossed the link.
pub fn table(rows: &[Row], users: u64, orders: u64, network: &str) -> String {
    let mut out = String::new();
    let runs = rows
        .iter()
        .find(|r| r.users == users && r.network == network)
        .map(|r| r.sample.runs)
        .unwrap_or(0);
    let _ = writeln!(
        out,
        "\n{users} users x {orders} orders, {network}: median of {runs} runs (ms); rows fetched from B / round trips per run\n"
    );
    let _ = writeln!(
        out,
        "| query | co-located | how-to | fdw-bridge | bridge/co-located | bridge/how-to | how-to fetched/trips | bridge fetched/trips |"
    );
    let _ = writeln!(out, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    let mut cases: Vec<&str> = Vec::new();
    for r in rows.iter().filter(|r| r.users == users && r.network == network) {
        if !cases.contains(&r.sample.case.as_str()) {
            cases.push(&r.sample.case);
        }
    }
    for case in cases {
        let get = |way| find(rows, users, network, case, way);
        let (Some(c), Some(b)) = (get("co-located"), get("fdw-bridge")) else {
            continue;
        };
        let traffic = |r: &Row| match r.sample.traffic {
            Some(t) => format!("{} / {}", t.fetched_rows, t.round_trips),
            None => "-".into(),
        };
        // A run with --no-howto has no how-to figures: its columns show "-".
        let (h_ms, h_ratio, h_traffic) = match get("how-to") {
            Some(h) => (
                format!("{:.1}", h.sample.median_ms),
                format!("{:.2}x", b.sample.median_ms / h.sample.median_ms),
                traffic(h),
            ),
            None => ("-".into(), "-".into(), "-".into()),
        };
        let _ = writeln!(
            out,
            "| {} | {:.1} | {h_ms} | {:.1} | {:.2}x | {h_ratio} | {h_traffic} | {} |",
            case,
            c.sample.median_ms,
            b.sample.median_ms,
            b.sample.median_ms / c.sample.median_ms,
            traffic(b)
        );
    }
    out
}

/// Each user-written shape three ways, all through fdw-bridge's link but the
/// floor: as written, as the advisor rewrote it (`<shape>.advised`; the shape
/// itself when the advice has nothing to change or no whole-query rewrite),
/// and co-located.
pub fn advice_table(rows: &[Row], users: u64, orders: u64, network: &str) -> String {
    let mut out = String::new();
    let runs = rows
        .iter()
        .find(|r| r.users == users && r.network == network)
        .map(|r| r.sample.runs)
        .unwrap_or(0);
    let _ = writeln!(
        out,
        "\nAs written, advised and co-located: {users} users x {orders} orders, {network}, median of {runs} runs (ms)\n"
    );
    let _ = writeln!(
        out,
        "| shape | co-located | as written | advised | as written / co-located | advised / co-located | bridge fetched, as written → advised |"
    );
    let _ = writeln!(out, "| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (shape, c, written, advised) in advice_triples(rows, users, network) {
        let fetched = |r: &Row| r.sample.traffic.map(|t| t.fetched_rows.to_string()).unwrap_or_default();
        let (advised_ms, advised_fetched) = match advised {
            Some(a) => (format!("{:.1}", a.sample.median_ms), fetched(a)),
            None => ("(as written)".to_string(), fetched(written)),
        };
        let advised_ratio = advised.unwrap_or(written).sample.median_ms / c.sample.median_ms;
        let _ = writeln!(
            out,
            "| {shape} | {:.1} | {:.1} | {advised_ms} | {:.2}x | {advised_ratio:.2}x | {} → {advised_fetched} |",
            c.sample.median_ms,
            written.sample.median_ms,
            written.sample.median_ms / c.sample.median_ms,
            fetched(written),
        );
    }
    out
}

/// (shape, co-located, as written through fdw-bridge, advised through fdw-bridge) for each
/// user-written shape measured at `users` on `network`.
pub fn advice_triples<'a>(
    rows: &'a [Row],
    users: u64,
    network: &str,
) -> Vec<(&'a str, &'a Row, &'a Row, Option<&'a Row>)> {
    let mut out = Vec::new();
    for r in rows.iter().filter(|r| {
        r.users == users
            && r.network == network
            && r.sample.kind == "shape"
            && r.sample.way == "fdw-bridge"
            && !r.sample.case.contains('.')
    }) {
        let case = r.sample.case.as_str();
        let Some(c) = find(rows, users, network, case, "co-located") else {
            continue;
        };
        let advised = find(rows, users, network, &format!("{case}.advised"), "fdw-bridge");
        out.push((case, c, r, advised));
    }
    out
}
