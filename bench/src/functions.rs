//! The functions' figures (issue 13, item 5): each function's release binary
//! for this host (`cargo build --release`, as `make bench` builds it) started
//! fresh under the Runtime API emulator, several times: the cold start (from
//! spawning the process to its first answer, and the part of it before the
//! first poll: init), warm invocations in the same process, and its peak
//! memory (VmHWM from /proc after the work). fdw-report's warm invocation is
//! set beside the same report SQL run directly on cluster A.

use crate::measure::median_ms;
use crate::runtime_api::{Answer, RuntimeApi};
use chrono::{DateTime, Duration as Days, Utc};
use fdw_bridge::report::{params, Catalog, Report};
use fdw_bridge_testkit::{self as harness, Stack};
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Fresh processes per function; the cold-start figure is their median.
const PROCESSES: usize = 5;
/// Warm fdw-report invocations per process.
const WARM_REPORTS: usize = 6;
/// A daily report, so that every invocation has a window of its own (a stored
/// window is not run again).
const REPORT: &str = "revenue_by_country_segment";

/// Where `cargo build --release` put the functions' binaries.
pub fn release_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::repo().join("target"));
    target.join("release")
}

fn binary(name: &str) -> PathBuf {
    let path = release_dir().join(name);
    assert!(
        path.is_file(),
        "{} is missing: build the functions first (cargo build --release -p fdw-bootstrap -p fdw-report -p fdw-rotate; make bench does)",
        path.display()
    );
    path
}

/// One fresh function process under its own Runtime API.
struct Process {
    child: Child,
    api: RuntimeApi,
    spawned: Instant,
}

impl Process {
    async fn start(name: &str, env: &[(&str, String)], log_dir: &Path) -> Process {
        let api = RuntimeApi::start().await;
        let log_path = log_dir.join(format!("{name}.log"));
        println!("[bench] {name}: a fresh process, its log in {}", log_path.display());
        let log = std::fs::File::create(&log_path).expect("function log file");
        let mut command = Command::new(binary(name));
        command
            .env("AWS_LAMBDA_RUNTIME_API", &api.address)
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            // As template.yaml's ApplicationLogLevel (the bench process itself logs at DEBUG).
            .env("AWS_LAMBDA_LOG_LEVEL", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log);
        for (k, v) in env {
            command.env(k, v);
        }
        let spawned = Instant::now();
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", binary(name).display()));
        Process { child, api, spawned }
    }

    /// One invocation; the time from queueing the event to the answer.
    async fn invoke(&mut self, event: Value) -> (Answer, Duration) {
        let queued = Instant::now();
        let id = self.api.queue(event);
        let answer = self.api.answer(&id, Duration::from_secs(300)).await;
        assert!(answer.ok, "the function answered with an error: {}", answer.body);
        let took = answer.at - queued;
        (answer, took)
    }

    /// The first invocation of the fresh process: (init, first answer), both from spawning.
    async fn cold(&mut self, event: Value) -> (Answer, Duration, Duration) {
        let id = self.api.queue(event);
        let polled = self.api.first_poll(Duration::from_secs(60)).await;
        let answer = self.api.answer(&id, Duration::from_secs(300)).await;
        assert!(answer.ok, "the function answered with an error: {}", answer.body);
        let init = polled - self.spawned;
        let first = answer.at - self.spawned;
        (answer, init, first)
    }

    /// Peak resident memory (VmHWM), read while the process waits for its next event, then stops it.
    fn stop(mut self) -> u64 {
        // The function polls again right after answering; give it a moment to get there.
        std::thread::sleep(Duration::from_millis(50));
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("reading the function's /proc status (Linux)");
        let kib = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .expect("VmHWM in /proc/<pid>/status");
        let _ = self.child.kill();
        let _ = self.child.wait();
        kib
    }
}

/// One function's figures over its fresh processes.
pub struct Figures {
    pub function: &'static str,
    pub binary_bytes: u64,
    pub init_ms: f64,
    pub cold_ms: f64,
    /// The same work as the first invocation, in the warm process.
    pub warm_ms: f64,
    /// What the invocations timed did.
    pub work: &'static str,
    pub peak_kib: u64,
}

/// A warm fdw-report invocation beside the same SQL run directly.
pub struct ReportBeside {
    pub invocations: usize,
    pub warm_ms: f64,
    pub direct_warm_ms: f64,
    pub direct_fresh_ms: f64,
}

/// Builds (or re-links) the release binaries: `cargo bench` writes its own
/// builds of the same binaries into target/release (the bench profile's
/// folder), and a fresh `cargo build --release` puts the release ones back.
fn build_release() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "-p",
            "fdw-bootstrap",
            "-p",
            "fdw-report",
            "-p",
            "fdw-rotate",
        ])
        .current_dir(crate::repo())
        .status()
        .expect("running cargo build --release");
    assert!(status.success(), "cargo build --release of the functions failed");
}

pub async fn measure(stack: &Stack, bridge_schema: &str) -> (Vec<Figures>, ReportBeside) {
    build_release();
    let log_dir = PathBuf::from(std::env::var("FDW_STACK_DIR").expect("FDW_STACK_DIR")).join("functions");
    std::fs::create_dir_all(&log_dir).expect("function log folder");
    let ca = stack.var("FDW_CA_BUNDLE").to_string();
    let bootstrap = bootstrap(stack, &ca, &log_dir).await;
    let (report, beside) = report(stack, &ca, bridge_schema, &log_dir).await;
    let rotate = rotate(stack, &ca, &log_dir).await;
    (vec![bootstrap, report, rotate], beside)
}

fn size(name: &str) -> u64 {
    std::fs::metadata(binary(name)).map(|m| m.len()).unwrap_or(0)
}

fn succeeded_cfn(answer: &Answer) {
    assert_eq!(
        answer.body["Status"],
        json!("SUCCESS"),
        "fdw-bootstrap: {}",
        answer.body
    );
}

async fn bootstrap(stack: &Stack, ca: &str, log_dir: &Path) -> Figures {
    let (mut init, mut cold, mut warm, mut peak) = (Vec::new(), Vec::new(), Vec::new(), 0);
    for i in 0..PROCESSES {
        let mut p = Process::start("fdw-bootstrap", &[("FDW_CA_BUNDLE", ca.to_string())], log_dir).await;
        // Two links, so that the warm Create does the same work as the cold one.
        let mut made = Vec::new();
        for (n, tag) in ["cold", "warm"].into_iter().enumerate() {
            let user = harness::unique(&format!("fdw_fn_{tag}_{i}"));
            let password = format!("fn-bench-pw-{}-{tag}-{i}", std::process::id());
            let secret = stack.fdw_secret(&user, &password).await;
            let server = harness::unique(&format!("fn_{tag}_{i}_link"));
            let schema = harness::unique(&format!("fn_{tag}_{i}_remote"));
            let props = stack.properties(&server, &schema, &secret);
            let create = stack.event("Create", &harness::unique("fn-create"), None, &props);
            let answer = if n == 0 {
                let (answer, i_ms, c_ms) = p.cold(create).await;
                init.push(i_ms);
                cold.push(c_ms);
                answer
            } else {
                let (answer, w) = p.invoke(create).await;
                warm.push(w);
                answer
            };
            succeeded_cfn(&answer);
            let physical = answer.body["PhysicalResourceId"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            made.push((physical, props));
        }
        for (physical, props) in made {
            let delete = stack.event("Delete", &harness::unique("fn-delete"), Some(&physical), &props);
            succeeded_cfn(&p.invoke(delete).await.0);
        }
        peak = peak.max(p.stop());
    }
    Figures {
        function: "fdw-bootstrap",
        binary_bytes: size("fdw-bootstrap"),
        init_ms: median_ms(&mut init),
        cold_ms: median_ms(&mut cold),
        warm_ms: median_ms(&mut warm),
        work: "Create of a link to B's `public` (2 tables and the bench's 2 views, with ANALYZE)",
        peak_kib: peak,
    }
}

fn scheduled(k: usize) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(crate::shapes::SCHEDULED)
        .expect("SCHEDULED is RFC 3339")
        .with_timezone(&Utc)
        - Days::days(k as i64)
}

async fn report(stack: &Stack, ca: &str, schema: &str, log_dir: &Path) -> (Figures, ReportBeside) {
    let catalog = Catalog::shipped().expect("the shipped catalog parses");
    let report = catalog
        .reports()
        .iter()
        .find(|r| r.name == REPORT)
        .expect("the daily report is shipped")
        .clone();
    let sql = report.sql(schema);
    let days = PROCESSES * (1 + WARM_REPORTS);
    forget_stored_windows(stack, &report, days).await;
    let env = report_env(stack, ca, schema);
    let event = |k: usize| {
        json!({
            "reports": [REPORT],
            "scheduledTime": scheduled(k).to_rfc3339(),
            "executionId": harness::unique("fn-report"),
        })
    };
    let succeeded = |answer: &Answer| {
        assert_eq!(
            answer.body["reports"][0]["status"],
            json!("succeeded"),
            "fdw-report: {}",
            answer.body
        );
    };
    let reader = || stack.clusters.report_reader();
    let mut direct = reader().await;
    direct
        .batch_execute("SET TimeZone = 'UTC'")
        .await
        .expect("session settings");
    let (mut init, mut cold, mut warm, mut peak) = (Vec::new(), Vec::new(), Vec::new(), 0);
    let (mut direct_warm, mut direct_fresh) = (Vec::new(), Vec::new());
    let mut k = 0;
    for _ in 0..PROCESSES {
        let mut p = Process::start("fdw-report", &env, log_dir).await;
        let (answer, i_ms, c_ms) = p.cold(event(k)).await;
        succeeded(&answer);
        k += 1;
        init.push(i_ms);
        cold.push(c_ms);
        for _ in 0..WARM_REPORTS {
            let (answer, w) = p.invoke(event(k)).await;
            succeeded(&answer);
            warm.push(w);
            // The same SQL for the same window, directly: on a warm session, then on a new one.
            let window = report.window.before(scheduled(k));
            let query = |client: tokio_postgres::Client| {
                let (sql, params) = (&sql, params(&report, &window));
                async move {
                    client.query(sql, &params).await.expect("the report's SQL directly");
                    client
                }
            };
            let started = Instant::now();
            direct = query(direct).await;
            direct_warm.push(started.elapsed());
            let started = Instant::now();
            query(reader().await).await;
            direct_fresh.push(started.elapsed());
            k += 1;
        }
        peak = peak.max(p.stop());
    }
    let beside = ReportBeside {
        invocations: warm.len(),
        warm_ms: median_ms(&mut warm.clone()),
        direct_warm_ms: median_ms(&mut direct_warm),
        direct_fresh_ms: median_ms(&mut direct_fresh),
    };
    let figures = Figures {
        function: "fdw-report",
        binary_bytes: size("fdw-report"),
        init_ms: median_ms(&mut init),
        cold_ms: median_ms(&mut cold),
        warm_ms: median_ms(&mut warm),
        work: "one daily report (revenue_by_country_segment: secrets, reader and writer sessions, pushdown check, run, store)",
        peak_kib: peak,
    };
    (figures, beside)
}

/// Earlier runs of the bench stored these windows: forget them so each invocation runs its report.
async fn forget_stored_windows(stack: &Stack, report: &Report, days: usize) {
    let a = stack.clusters.superuser('a', "users").await;
    let stored: bool = a
        .query_one("SELECT to_regclass('fdw_reports.runs') IS NOT NULL", &[])
        .await
        .expect("fdw_reports.runs")
        .get(0);
    if !stored {
        return;
    }
    for k in 0..days {
        let w = report.window.before(scheduled(k));
        a.execute(
            "DELETE FROM fdw_reports.runs WHERE report = $1 AND window_start = $2 AND window_end = $3",
            &[&REPORT, &w.start, &w.end],
        )
        .await
        .expect("forgetting a stored window");
    }
}

/// fdw-report's environment on the bench stack: reader and writer secrets, the link's schema.
fn report_env(stack: &Stack, ca: &str, schema: &str) -> [(&'static str, String); 4] {
    [
        ("FDW_CA_BUNDLE", ca.to_string()),
        (
            "FDW_REPORT_READER_SECRET_ARN",
            stack.var("REPORT_READER_SECRET_ARN").to_string(),
        ),
        (
            "FDW_REPORT_WRITER_SECRET_ARN",
            stack.var("USERS_ADMIN_SECRET_ARN").to_string(),
        ),
        ("FDW_REPORT_SCHEMA", schema.to_string()),
    ]
}

async fn rotate(stack: &Stack, ca: &str, log_dir: &Path) -> Figures {
    let link = stack.create_link("fn_rot").await;
    let secret = stack.rotation_secret(&link, "alternating").await;
    let (mut init, mut cold, mut warm, mut peak) = (Vec::new(), Vec::new(), Vec::new(), 0);
    for _ in 0..PROCESSES {
        let mut p = Process::start("fdw-rotate", &[("FDW_CA_BUNDLE", ca.to_string())], log_dir).await;
        // Two whole rotations: the first step of the first is the cold invocation,
        // the first step of the second the same work warm.
        for n in 0..2 {
            let token = stack.aws.start_rotation(&secret).await;
            let step = |s: &str| json!({"Step": s, "SecretId": secret, "ClientRequestToken": token});
            if n == 0 {
                let (_, i_ms, c_ms) = p.cold(step("createSecret")).await;
                init.push(i_ms);
                cold.push(c_ms);
            } else {
                warm.push(p.invoke(step("createSecret")).await.1);
            }
            for s in ["setSecret", "testSecret", "finishSecret"] {
                p.invoke(step(s)).await;
            }
        }
        peak = peak.max(p.stop());
    }
    stack.delete_link(&link).await;
    Figures {
        function: "fdw-rotate",
        binary_bytes: size("fdw-rotate"),
        init_ms: median_ms(&mut init),
        cold_ms: median_ms(&mut cold),
        warm_ms: median_ms(&mut warm),
        work: "createSecret (GetSecretValue, GetRandomPassword, PutSecretValue AWSPENDING)",
        peak_kib: peak,
    }
}

pub const CSV_HEADER: &str = "function,binary_bytes,processes,init_ms,cold_start_ms,warm_ms,peak_rss_kib";

pub fn csv(figures: &[Figures]) -> String {
    let mut out = format!("{CSV_HEADER}\n");
    for f in figures {
        let _ = writeln!(
            out,
            "{},{},{PROCESSES},{:.1},{:.1},{:.1},{}",
            f.function, f.binary_bytes, f.init_ms, f.cold_ms, f.warm_ms, f.peak_kib
        );
    }
    out
}

/// The Markdown docs/benchmarks.md's "Measured" quotes.
pub fn table(figures: &[Figures], beside: &ReportBeside, users: u64, orders: u64) -> String {
    let mut out = format!(
        "\nThe functions, release build for this host ({}), each started fresh {PROCESSES} times under the \
         Runtime API emulator, {users} users x {orders} orders (median ms; peak memory the largest VmHWM)\n\n\
         | function | binary | init (spawn to first poll) | cold start (spawn to first answer) | same work warm | cold - warm | work | peak memory |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |\n",
        std::env::consts::ARCH
    );
    for f in figures {
        let _ = writeln!(
            out,
            "| {} | {:.1} MiB | {:.1} | {:.1} | {:.1} | {:+.1} | {} | {:.1} MiB |",
            f.function,
            f.binary_bytes as f64 / 1048576.0,
            f.init_ms,
            f.cold_ms,
            f.warm_ms,
            f.cold_ms - f.warm_ms,
            f.work,
            f.peak_kib as f64 / 1024.0
        );
    }
    let _ = writeln!(
        out,
        "\nfdw-report warm invocation ({REPORT}, {} invocations) beside the same SQL on cluster A as report_reader (median ms)\n\n\
         | fdw-report warm invocation | SQL on a warm session | SQL on a new session (TLS + SCRAM login) | invocation - warm SQL |\n\
         | ---: | ---: | ---: | ---: |\n\
         | {:.1} | {:.1} | {:.1} | {:+.1} |",
        beside.invocations,
        beside.warm_ms,
        beside.direct_warm_ms,
        beside.direct_fresh_ms,
        beside.warm_ms - beside.direct_warm_ms
    );
    out
}
