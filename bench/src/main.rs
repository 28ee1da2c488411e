//! `make bench`: each shipped report and the query shapes analysts write, run
//! co-located, through a how-to link and through fdw-bridge's link, at each
//! scale, on loopback and with 0.5 ms added each way between the clusters;
//! point-lookup latency and throughput through the link. Prints Markdown
//! tables, writes a CSV, the tables and two charts under the output folder.
//!
//!   FDW_STACK_DIR=/tmp/fdw-bench-stack fdw-bench [--scales 10000x100000,100000x1000000]
//!       [--large] [--runs 5] [--delayed-runs 3] [--out docs/bench] [--no-delay] [--no-latency]
//!       [--no-functions] [--functions-only] [--cases whole_history,top10] [--no-howto]
//!   fdw-bench --chart-only [--out docs/bench]     (redraw the charts from results.csv)
//!   fdw-bench --options [--scales ..] [--runs 3]  (which postgres_fdw options pay as the link's
//!       defaults: the as-written shapes with one option changed at a time; options.md, options.csv)
//!
//! Each user-written shape is also asked of the advisor (`fdw_bridge.advise` on
//! A, through fdw-bridge's link): its whole-query rewrite runs as
//! `<shape>.advised` (same rows checked), and the advice chart shows the shape
//! as written, advised and co-located.
//!
//! The bench (re)loads its stack at each scale with `stack/stack.sh up` and
//! loads pg_stat_statements on the clusters (FDW_STACK_PRELOAD) to count what
//! crosses the link. The functions' figures (cold start, warm fdw-report
//! beside its SQL, peak memory) are taken once, at the first scale, from the
//! release binaries `make bench` builds first.

mod advice;
mod advice_chart;
mod chart;
mod functions;
mod latency;
mod measure;
mod options;
mod output;
mod runtime_api;
mod shapes;
mod traffic;
mod ways;

use fdw_bridge_testkit::delay_proxy::DelayProxy;
use fdw_bridge_testkit::Stack;
use output::Row;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

struct Options {
    scales: Vec<(u64, u64)>,
    runs: usize,
    delayed_runs: usize,
    out: PathBuf,
    delay: bool,
    /// Time the how-to link too (`--no-howto`: co-located and fdw-bridge only, for a short run).
    howto: bool,
    latency: bool,
    functions: bool,
    /// Only the functions' figures (at the scale they are taken at).
    functions_only: bool,
    /// Only the cases whose names start with one of these (comma-separated `--cases`).
    cases: Option<Vec<String>>,
    /// Redraw the charts from the output folder's results.csv, measure nothing.
    chart_only: bool,
    /// Only the option sweep (bench/src/options.rs).
    options: bool,
}

fn options() -> Options {
    let repo = repo();
    let mut o = Options {
        scales: vec![(10_000, 100_000), (100_000, 1_000_000)],
        runs: 5,
        delayed_runs: 3,
        out: repo.join("docs/bench"),
        delay: true,
        howto: true,
        latency: true,
        functions: true,
        functions_only: false,
        cases: None,
        chart_only: false,
        options: false,
    };
    let mut large = std::env::var("FDW_BENCH_LARGE").is_ok_and(|v| v == "1");
    if let Ok(s) = std::env::var("FDW_BENCH_SCALES") {
        o.scales = parse_scales(&s);
    }
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{a} needs a value"));
        match a.as_str() {
            "--scales" => o.scales = parse_scales(&value()),
            "--large" => large = true,
            "--runs" => o.runs = value().parse().expect("--runs: a number"),
            "--delayed-runs" => o.delayed_runs = value().parse().expect("--delayed-runs: a number"),
            "--out" => o.out = PathBuf::from(value()),
            "--no-delay" => o.delay = false,
            "--no-howto" => o.howto = false,
            "--no-latency" => o.latency = false,
            "--no-functions" => o.functions = false,
            "--functions-only" => o.functions_only = true,
            "--cases" => o.cases = Some(value().split(',').map(|c| c.trim().to_string()).collect()),
            "--chart-only" => o.chart_only = true,
            "--options" => o.options = true,
            // cargo bench passes --bench to harness=false targets.
            "--bench" => {}
            other => panic!("unknown argument {other} (see the top of bench/src/main.rs)"),
        }
    }
    if large {
        o.scales.push((1_000_000, 10_000_000));
    }
    o
}

fn parse_scales(s: &str) -> Vec<(u64, u64)> {
    s.split(',')
        .map(|p| {
            let (u, o) = p
                .split_once('x')
                .unwrap_or_else(|| panic!("scale {p:?}: write USERSxORDERS, e.g. 10000x100000"));
            (u.trim().parse().expect("users"), o.trim().parse().expect("orders"))
        })
        .collect()
}

pub(crate) fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// (Re)loads the bench stack at a scale; the ports, and so the links' servers, stay.
fn stack_up(users: u64, orders: u64) {
    let dir = std::env::var("FDW_STACK_DIR").unwrap_or_else(|_| {
        panic!("FDW_STACK_DIR is not set: the bench runs on a stack of its own (make bench sets /tmp/fdw-bench-stack)")
    });
    let repo = repo();
    println!("[bench] stack {dir}: {users} users, {orders} orders");
    let status = Command::new(repo.join("stack/stack.sh"))
        .args(["up", "--users", &users.to_string(), "--orders", &orders.to_string()])
        .env("FDW_STACK_PRELOAD", "pg_stat_statements")
        .status()
        .expect("running stack/stack.sh");
    assert!(status.success(), "stack/stack.sh up failed at {users} x {orders}");
}

#[tokio::main]
async fn main() {
    let o = options();
    std::fs::create_dir_all(&o.out).unwrap_or_else(|e| panic!("{}: {e}", o.out.display()));
    if o.chart_only {
        let csv = o.out.join("results.csv");
        let text = std::fs::read_to_string(&csv).unwrap_or_else(|e| panic!("{}: {e}", csv.display()));
        draw_charts(&output::parse_csv(&text), &o.out);
        return;
    }
    let mut run = Run::default();
    // The functions' figures at one scale, the first (smallest): they measure the
    // functions, and the Create they time imports and ANALYZEs B's tables.
    let functions_at = o.scales.first().copied();
    for &scale in &o.scales {
        if o.functions_only && functions_at != Some(scale) {
            continue;
        }
        if measure_scale(&o, scale, functions_at == Some(scale), &mut run).await == Done::AllWritten {
            return;
        }
    }
    if o.options {
        let header = format!(
            "Figures from `fdw-bench --options` (make bench-options), median of {} rounds. {}",
            o.runs,
            machine_note()
        );
        write(&o.out.join("options.md"), &format!("{header}{}", run.notes));
        println!("[bench] options.md in {}", o.out.display());
        return;
    }
    write_results(&o, run);
}

/// Whether a scale's figures still go to results.md, or were written whole already.
#[derive(PartialEq)]
enum Done {
    Scale,
    AllWritten,
}

/// One scale: the stack reloaded, the links made, every case through every way.
async fn measure_scale(o: &Options, (users, orders): (u64, u64), functions_here: bool, run: &mut Run) -> Done {
    stack_up(users, orders);
    let stack = Stack::get();
    let b_superuser = stack.clusters.superuser('b', "orders").await;
    traffic::enable(&b_superuser).await;
    make_pattern_objects(stack).await;
    let cases = selected_cases(o);
    let scale = (users, orders);
    let direct = ways::make_links(stack, "direct", stack.clusters.port('b')).await;
    if o.options {
        sweep_options(o, stack, &direct, cases, scale, run).await;
        ways::drop_links(stack, &direct).await;
        return Done::Scale;
    }
    let sessions = ways::sessions(stack, &direct, o.howto).await;
    // The advisor's rewrite of each user-written shape, timed beside it as `<shape>.advised`.
    let bridge = sessions
        .iter()
        .find(|w| w.name == ways::WAYS[2])
        .expect("fdw-bridge's session is always made");
    let (advised, rewrites) = advice::advise_all(&bridge.client, &bridge.schema, &cases).await;
    let cases: Vec<shapes::Case> = cases.into_iter().chain(rewrites).collect();
    if o.functions_only {
        write_functions_only(stack, &direct, &o.out, scale).await;
        drop(sessions);
        ways::drop_links(stack, &direct).await;
        return Done::AllWritten;
    }
    run.compare_all(&cases, &sessions, o.runs, &b_superuser, scale, "loopback")
        .await;
    same_answers(&run.rows, users);
    run.note(output::table(&run.rows, users, orders, "loopback"));
    run.note(
        output::advice_table(&run.rows, users, orders, "loopback") + &advice::overhead_table(&advised, users, orders),
    );
    if o.latency {
        run.note(latency_figures(stack, &direct.bridge.local_schema, scale).await);
    }
    if o.functions && functions_here {
        let (figures, beside) = functions::measure(stack, &direct.bridge.local_schema).await;
        let text = functions::table(&figures, &beside, users, orders);
        run.note(text.clone());
        run.function_csv = Some((text, functions::csv(&figures)));
    }
    drop(sessions);
    ways::drop_links(stack, &direct).await;
    if o.delay {
        measure_delayed(o, stack, &cases, &b_superuser, scale, run).await;
    }
    Done::Scale
}

/// What one bench run gathers across its scales.
#[derive(Default)]
struct Run {
    rows: Vec<Row>,
    notes: String,
    proxy: Option<DelayProxy>,
    function_csv: Option<(String, String)>,
}

impl Run {
    /// Prints a table and keeps it for results.md.
    fn note(&mut self, text: String) {
        println!("{text}");
        self.notes.push_str(&text);
    }

    /// Every case through every way, `runs` times, as rows of one network.
    async fn compare_all(
        &mut self,
        cases: &[shapes::Case],
        sessions: &[ways::Way],
        runs: usize,
        b_superuser: &tokio_postgres::Client,
        (users, orders): (u64, u64),
        network: &str,
    ) {
        for case in cases {
            for sample in measure::compare(case, sessions, runs, b_superuser).await {
                self.rows.push(Row {
                    users,
                    orders,
                    network: network.into(),
                    sample,
                });
            }
        }
    }
}

/// The views and the index of the patterns, on B and co-located (a reload drops them with the tables).
async fn make_pattern_objects(stack: &Stack) {
    for (cluster, db, owner) in [('b', "orders", "orders_admin"), ('a', "colocated", "users_admin")] {
        stack
            .clusters
            .superuser(cluster, db)
            .await
            .batch_execute(&format!(
                "SET ROLE {owner}; {}; {}",
                shapes::ORDER_LINES_VIEW,
                shapes::USER_ORDER_TOTALS_VIEW
            ))
            .await
            .unwrap_or_else(|e| panic!("creating the patterns' views on {db}: {e:?}"));
        let su = stack.clusters.superuser(cluster, db).await;
        su.batch_execute(&format!("SET ROLE {owner}; {}", shapes::ORDER_TOTALS_INDEX))
            .await
            .unwrap_or_else(|e| panic!("creating the whole-history index on {db}: {e:?}"));
        // Its own statement: VACUUM cannot run inside the implicit transaction of a batch.
        su.batch_execute("VACUUM (ANALYZE) public.orders")
            .await
            .unwrap_or_else(|e| panic!("VACUUM of orders on {db}: {e:?}"));
    }
}

/// The reports, the user-written shapes and the documented patterns, or those `--cases` names.
fn selected_cases(o: &Options) -> Vec<shapes::Case> {
    shapes::reports()
        .into_iter()
        .chain(shapes::user_shapes())
        .chain(shapes::documented_patterns())
        .filter(|c| {
            o.cases
                .as_ref()
                .is_none_or(|only| only.iter().any(|p| c.name.starts_with(p.as_str())))
        })
        .collect()
}

/// `--options`: each case and its advised rewrite with one server option changed at a time.
async fn sweep_options(
    o: &Options,
    stack: &Stack,
    direct: &ways::Links,
    cases: Vec<shapes::Case>,
    (users, orders): (u64, u64),
    run: &mut Run,
) {
    let sessions = ways::sessions(stack, direct, false).await;
    let admin = stack.clusters.superuser('a', "users").await;
    // The advisor's rewrites too (`<shape>.advised`): the options reach them as well.
    let (_, rewrites) = advice::advise_all(&sessions[1].client, &direct.bridge.local_schema, &cases).await;
    let cases: Vec<shapes::Case> = cases.into_iter().chain(rewrites).collect();
    let figures = options::sweep(
        &sessions[0].client,
        &sessions[1].client,
        &admin,
        &direct.bridge.server,
        &direct.bridge.local_schema,
        &cases,
        o.runs,
    )
    .await;
    run.note(options::table(&figures, users, orders, o.runs));
    write(
        &o.out.join(format!("options-{users}x{orders}.csv")),
        &options::csv(&figures, users, orders),
    );
}

/// `--functions-only`: the functions' figures alone, written at once.
async fn write_functions_only(stack: &Stack, direct: &ways::Links, out: &Path, (users, orders): (u64, u64)) {
    let (figures, beside) = functions::measure(stack, &direct.bridge.local_schema).await;
    let text = functions::table(&figures, &beside, users, orders);
    println!("{text}");
    write(&out.join("functions.md"), &format!("{}{text}", machine_note()));
    write(&out.join("functions.csv"), &functions::csv(&figures));
}

/// Point lookups through fdw-bridge's link: warm and fresh percentiles, then throughput.
async fn latency_figures(stack: &'static Stack, schema: &str, (users, orders): (u64, u64)) -> String {
    let warm = latency::warm(stack, schema, orders, 2000).await;
    let fresh = latency::fresh(stack, schema, orders, 50).await;
    let mut text = format!(
        "\nPoint lookup through fdw-bridge's link, {users} users x {orders} orders, loopback (ms)\n\n\
         | session | samples | p50 | p95 | p99 |\n| --- | ---: | ---: | ---: | ---: |\n"
    );
    for (name, p) in [("warm", &warm), ("fresh connection", &fresh)] {
        let _ = writeln!(
            text,
            "| {name} | {} | {:.2} | {:.2} | {:.2} |",
            p.samples, p.p50, p.p95, p.p99
        );
    }
    let _ = writeln!(
        text,
        "\n| concurrent sessions | lookups per second (5 s each) |\n| ---: | ---: |"
    );
    for n in [1, 10, 100] {
        let qps = latency::throughput(stack, schema, orders, n, Duration::from_secs(5)).await;
        let _ = writeln!(text, "| {n} | {qps:.0} |");
    }
    text
}

/// `--delay`: the same cases through a proxy adding 0.5 ms each way between A and B.
async fn measure_delayed(
    o: &Options,
    stack: &Stack,
    cases: &[shapes::Case],
    b_superuser: &tokio_postgres::Client,
    (users, orders): (u64, u64),
    run: &mut Run,
) {
    let proxy_port = run
        .proxy
        .get_or_insert_with(|| DelayProxy::start(stack.clusters.port('b'), Duration::from_micros(500)))
        .port;
    let delayed = ways::make_links(stack, "delayed", proxy_port).await;
    let sessions = ways::sessions(stack, &delayed, o.howto).await;
    run.compare_all(cases, &sessions, o.delayed_runs, b_superuser, (users, orders), "+0.5ms")
        .await;
    run.note(
        output::table(&run.rows, users, orders, "+0.5ms") + &output::advice_table(&run.rows, users, orders, "+0.5ms"),
    );
    if o.latency {
        let w = latency::warm(stack, &delayed.bridge.local_schema, orders, 500).await;
        run.note(format!(
            "\nPoint lookup, warm session, +0.5 ms each way: p50 {:.2} / p95 {:.2} / p99 {:.2} ms ({} samples)\n",
            w.p50, w.p95, w.p99, w.samples
        ));
    }
    drop(sessions);
    ways::drop_links(stack, &delayed).await;
}

/// results.csv, results.md, the functions' figures and the charts.
fn write_results(o: &Options, run: Run) {
    let mut csv = String::from(output::CSV_HEADER);
    csv.push('\n');
    for r in &run.rows {
        csv.push_str(&output::csv_line(r));
        csv.push('\n');
    }
    write(&o.out.join("results.csv"), &csv);
    if let Some((table, csv)) = run.function_csv {
        write(&o.out.join("functions.md"), &format!("{}{table}", machine_note()));
        write(&o.out.join("functions.csv"), &csv);
    }
    let header = format!(
        "Figures from `make bench` (fdw-bench), {} runs per way (+0.5 ms: {}) after a warm-up, ways alternating; \
         median of the runs. {}",
        o.runs,
        o.delayed_runs,
        machine_note()
    );
    write(&o.out.join("results.md"), &format!("{header}{}", run.notes));
    draw_charts(&run.rows, &o.out);
    println!("[bench] results.csv and results.md in {}", o.out.display());
}

fn draw_charts(rows: &[Row], out: &Path) {
    for (network, file) in [("loopback", "loopback.png"), ("+0.5ms", "delayed.png")] {
        if !rows.iter().any(|r| r.network == network) {
            continue;
        }
        let title = format!("median ms against scale, {network} between A and B: co-located, how-to link, fdw-bridge");
        match chart::draw(rows, network, &out.join(file), &title) {
            Ok(()) => println!("[bench] chart {}", out.join(file).display()),
            Err(e) => panic!("drawing {file}: {e}"),
        }
    }
    // The advice chart at the largest scale measured, each network.
    let Some(users) = rows.iter().map(|r| r.users).max() else {
        return;
    };
    for (network, file) in [("loopback", "advice-loopback.png"), ("+0.5ms", "advice-delayed.png")] {
        match advice_chart::draw(rows, users, network, &out.join(file)) {
            Ok(true) => println!("[bench] chart {}", out.join(file).display()),
            Ok(false) => {}
            Err(e) => panic!("drawing {file}: {e}"),
        }
    }
}

/// Each documented pattern (`<shape>.<pattern>`) must answer exactly what its shape does.
fn same_answers(rows: &[Row], users: u64) {
    let colocated = |case: &str| {
        rows.iter()
            .find(|r| r.users == users && r.sample.way == ways::WAYS[0] && r.sample.case == case)
            .map(|r| r.sample.digest.clone())
    };
    for r in rows
        .iter()
        .filter(|r| r.users == users && r.sample.way == ways::WAYS[0])
    {
        if let Some((shape, _)) = r.sample.case.split_once('.') {
            assert_eq!(
                colocated(shape),
                Some(r.sample.digest.clone()),
                "{} does not return the rows {shape} returns",
                r.sample.case
            );
        }
    }
}

fn machine_note() -> String {
    format!(
        "Taken on {}.\n",
        std::env::var("FDW_BENCH_MACHINE").unwrap_or_else(|_| "an unnamed machine (set FDW_BENCH_MACHINE)".into())
    )
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}
