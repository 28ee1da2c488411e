//! Shared by the rotation suites: driving the steps as Secrets Manager does,
//! and clients that query across the clusters while a rotation runs.

use fdw_bridge::rotate::RotateError;
use fdw_bridge::rotate::{Rotator, StepOutcome};
use fdw_bridge_testkit as harness;
use harness::{LeakWatch, Stack, TestLink};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const STEPS: [&str; 4] = ["createSecret", "setSecret", "testSecret", "finishSecret"];

/// One step through the handler; after it, no password in what the logs gained.
pub async fn step(
    watch: &mut LeakWatch,
    rotator: &Rotator,
    name: &str,
    secret: &str,
    token: &str,
) -> Result<StepOutcome, RotateError> {
    let result = rotator.handle(name, secret, token).await;
    if result.as_ref().is_ok_and(|o| o.did.starts_with("created AWSPENDING")) {
        // The new password is known before the check that covers its first use.
        remember_pending(Stack::get(), secret, token).await;
    }
    watch.check(Stack::get());
    result
}

/// Adds the pending version's password to those searched for in the logs.
pub async fn remember_pending(stack: &Stack, secret: &str, token: &str) {
    let pending = stack.aws.secret_version(secret, Some(token), "AWSPENDING").await;
    harness::remember_secret(pending["password"].as_str().expect("password"));
}

/// One whole rotation as Secrets Manager runs it; returns how long setSecret took.
pub async fn rotate(stack: &Stack, watch: &mut LeakWatch, rotator: &Rotator, secret: &str) -> Duration {
    let token = stack.aws.start_rotation(secret).await;
    let mut set_took = Duration::ZERO;
    for name in STEPS {
        let started = Instant::now();
        step(watch, rotator, name, secret, &token)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        if name == "setSecret" {
            set_took = started.elapsed();
        }
    }
    set_took
}

/// The cross-database query the clients run (as report_reader, through the link's foreign tables).
pub fn cross_query(link: &TestLink) -> String {
    format!(
        "SELECT count(*) FROM users u JOIN {}.orders o ON o.user_id = u.id WHERE o.id % 50 = 0",
        fdw_bridge::pg::ident(&link.local_schema)
    )
}

#[derive(Default, Debug)]
pub struct Counts {
    pub ok: u64,
    pub failed: u64,
    pub errors: Vec<String>,
    /// When each failure happened.
    pub failed_at: Vec<Instant>,
}

/// Clients querying across until stopped: `fresh` open a new session (so a new
/// FDW connection) per query, the others hold one session and its cached FDW connection.
pub struct Load {
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<Counts>>,
}

impl Load {
    pub fn start(link: &TestLink, fresh: usize, holding: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let sql = cross_query(link);
        let mut tasks = Vec::new();
        for i in 0..fresh + holding {
            let (stop, sql) = (stop.clone(), sql.clone());
            let per_query = i < fresh;
            tasks.push(tokio::spawn(async move {
                let stack = Stack::get();
                let password = stack.var("REPORT_READER_PASSWORD").to_string();
                let mut counts = Counts::default();
                let mut held = None;
                while !stop.load(Ordering::Relaxed) {
                    if per_query || held.is_none() {
                        held = Some(stack.clusters.login('a', "users", "report_reader", &password).await);
                    }
                    let client = held.as_ref().expect("session");
                    match client.query_one(&sql, &[]).await {
                        Ok(row) if row.get::<_, i64>(0) > 0 => counts.ok += 1,
                        Ok(_) => {
                            counts.failed += 1;
                            counts.errors.push("the join returned no rows".into());
                            counts.failed_at.push(Instant::now());
                        }
                        Err(e) => {
                            counts.failed += 1;
                            counts.errors.push(fdw_bridge::pg::error_chain(&e));
                            counts.failed_at.push(Instant::now());
                        }
                    }
                    if per_query {
                        held = None;
                    }
                    // Continuous, but not a flood of server log lines.
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                counts
            }));
        }
        Self { stop, tasks }
    }

    pub async fn stop(self) -> Counts {
        self.stop.store(true, Ordering::Relaxed);
        let mut all = Counts::default();
        for t in self.tasks {
            let c = t.await.expect("client task");
            all.ok += c.ok;
            all.failed += c.failed;
            all.errors.extend(c.errors);
            all.failed_at.extend(c.failed_at);
        }
        all
    }
}

/// The `user` and `password` options of `role`'s mapping for `server` on A (read as superuser).
pub async fn mapping_options(stack: &Stack, server: &str, role: &str) -> (String, String) {
    let a = stack.clusters.superuser('a', "users").await;
    let row = a
        .query_one(
            "SELECT (SELECT substr(o, 6) FROM unnest(umoptions) o WHERE o LIKE 'user=%'),
                    (SELECT substr(o, 10) FROM unnest(umoptions) o WHERE o LIKE 'password=%')
               FROM pg_user_mappings WHERE srvname = $1 AND usename = $2",
            &[&server, &role],
        )
        .await
        .expect("a user mapping");
    (row.get(0), row.get(1))
}

/// Writes `value` as the AWSPENDING value of version `token` directly, as
/// createSecret would (for values GetRandomPassword never makes, or a test's own).
pub async fn put_pending(secret: &str, token: &str, value: &Value) {
    let sdk = aws_config::load_from_env().await;
    aws_sdk_secretsmanager::Client::new(&sdk)
        .put_secret_value()
        .secret_id(secret)
        .client_request_token(token)
        .secret_string(value.to_string())
        .version_stages("AWSPENDING")
        .send()
        .await
        .unwrap();
}

/// The secret and the clusters agree: the user mappings on A log in with AWSCURRENT's credentials.
pub async fn assert_mappings_follow_current(stack: &Stack, link: &TestLink, secret: &str) {
    let current = stack.aws.secret_version(secret, None, "AWSCURRENT").await;
    let (user, password) = mapping_options(stack, &link.server, "report_reader").await;
    assert_eq!(
        (json!(user), json!(password)),
        (current["username"].clone(), current["password"].clone())
    );
}
