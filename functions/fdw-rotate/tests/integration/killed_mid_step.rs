//! The function process killed in the middle of each rotation step, then the
//! step retried as Secrets Manager retries it, for both strategies, while
//! clients query across (two opening a session per query, two holding one).
//! The process is fdw-rotate's own binary run as Lambda runs it (testkit's
//! `spawn_function`); each kill point is something the test holds:
//! - createSecret, testSecret: `pg_user_mapping` locked on A, so the step waits
//!   reading which user A's mappings log in as (before it writes anything);
//! - setSecret, twice: fdw-bridge's advisory lock held on B, so the step has
//!   changed A's mappings in its open transaction and waits to change B's
//!   password; and between B's commit and A's: B is given a synchronous standby
//!   that does not exist, so the master's COMMIT on B waits for it (written,
//!   not yet visible) and the process is killed there; once the wait is lifted
//!   B has the new password and A's mappings the old one, the half-done state;
//! - finishSecret: a gate in front of Secrets Manager lets the AWSCURRENT move
//!   through and holds the next call (taking AWSPENDING off).
//!
//! After each kill the retried step completes; the rotation ends with the
//! mappings on A following AWSCURRENT. B runs at `wal_level` replica for the
//! test (a standby can be waited for only with WAL senders) and gets its
//! settings back after. It holds locks every link needs, so it
//! has the stack alone.

use crate::common::{assert_mappings_follow_current, mapping_options, remember_pending, step, Load};
use fdw_bridge_testkit::request_gate::RequestGate;
use fdw_bridge_testkit::{LeakWatch, Stack};
use serde_json::json;
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_fdw-rotate");

/// Lifts B's synchronous-standby gate when dropped (through the stack's psql: Drop cannot await).
struct SyncGateOnDrop(String);

impl Drop for SyncGateOnDrop {
    fn drop(&mut self) {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../stack/stack.sh");
        for sql in [
            "ALTER SYSTEM RESET synchronous_standby_names".to_string(),
            "SELECT pg_reload_conf()".to_string(),
            format!("ALTER ROLE \"{}\" RESET synchronous_commit", self.0),
        ] {
            let status = std::process::Command::new(script)
                .args(["psql", "b", "-qAt", "-o", "/dev/null", "-c", &sql])
                .status()
                .expect("stack/stack.sh psql");
            assert!(status.success(), "could not lift B's synchronous-standby gate: {sql}");
        }
    }
}

/// setSecret killed between B's commit and A's (see the module comment).
async fn kill_set_secret_between_commits(stack: &'static Stack, secret: &str, token: &str) {
    let event = json!({"Step": "setSecret", "SecretId": secret, "ClientRequestToken": token});
    let admin = stack.var("ORDERS_ADMIN_USER").to_string();
    let b = stack.clusters.superuser('b', "orders").await;
    let gate = SyncGateOnDrop(admin.clone());
    b.batch_execute(&format!(
        "ALTER ROLE {} SET synchronous_commit = on",
        fdw_bridge::pg::ident(&admin)
    ))
    .await
    .unwrap();
    b.batch_execute("ALTER SYSTEM SET synchronous_standby_names = 'fdw_test_no_such_standby'")
        .await
        .unwrap();
    b.batch_execute("SELECT pg_reload_conf()").await.unwrap();
    let mut process = stack
        .functions
        .spawn_function(BINARY, &event, Duration::from_secs(60))
        .await;
    process
        .wait_until_session(
            'b',
            &format!("wait_event = 'SyncRep' AND usename = '{}'", admin.replace('\'', "''")),
        )
        .await;
    process.kill();
    drop(gate); // B's commit completes: the new password is B's, A's transaction was rolled back
}

/// Runs `name` in a function process and kills it at its kill point.
async fn kill_in_step(stack: &'static Stack, watch: &mut LeakWatch, name: &str, secret: &str, token: &str) {
    let event = json!({"Step": name, "SecretId": secret, "ClientRequestToken": token});
    let timeout = Duration::from_secs(60);
    if name == "finishSecret" {
        let moto_port: u16 = stack
            .var("AWS_ENDPOINT_URL")
            .rsplit(':')
            .next()
            .and_then(|p| p.trim_end_matches('/').parse().ok())
            .expect("moto's port in AWS_ENDPOINT_URL");
        let gate = RequestGate::start(moto_port, "secretsmanager.UpdateSecretVersionStage", 1);
        let endpoint = format!("http://127.0.0.1:{}", gate.port);
        let mut process = stack
            .functions
            .spawn_function_with(BINARY, &event, timeout, &[("AWS_ENDPOINT_URL", endpoint)])
            .await;
        let started = Instant::now();
        while !gate.holding() {
            assert!(process.is_running(), "finishSecret ended before the gate");
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "finishSecret never reached the gate"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        process.kill();
        // The kill point: AWSCURRENT moved, AWSPENDING still on the version.
        let current = stack.aws.secret_version(secret, None, "AWSCURRENT").await;
        let pending = stack.aws.secret_version(secret, Some(token), "AWSPENDING").await;
        assert_eq!(current, pending, "finishSecret was killed before moving AWSCURRENT");
    } else {
        let (cluster, db, lock, waits_at) = if name == "setSecret" {
            // fdw_bridge::pg's LOCK_KEY
            (
                'b',
                "orders",
                "SELECT pg_advisory_lock(hashtext('fdw-bridge'))",
                "%pg_advisory_xact_lock%",
            )
        } else {
            (
                'a',
                "users",
                "BEGIN; LOCK TABLE pg_catalog.pg_user_mapping IN ACCESS EXCLUSIVE MODE",
                "%FROM pg_user_mappings%",
            )
        };
        let holder = stack.clusters.superuser(cluster, db).await;
        holder.batch_execute(lock).await.unwrap();
        let mut process = stack.functions.spawn_function(BINARY, &event, timeout).await;
        process.wait_until_blocked(cluster, waits_at).await;
        process.kill();
        drop(holder);
    }
    watch.check(stack);
}

/// `name` retried in-process, as Secrets Manager retries a step whose invocation died.
async fn retry_step(stack: &'static Stack, watch: &mut LeakWatch, name: &str, secret: &str, token: &str) {
    let rotator = stack.rotator().await;
    let done = step(watch, &rotator, name, secret, token)
        .await
        .unwrap_or_else(|e| panic!("{name} retried after the kill: {e}"));
    println!("{name}: killed, then retried: {}", done.did);
}

async fn rotation_killed_at_every_step(strategy: &str) -> (u64, u64, Vec<String>) {
    let stack = Stack::get();
    let link = stack.create_link(&format!("rot_kill_{}", &strategy[..3])).await;
    let secret = stack.rotation_secret(&link, strategy).await;
    let mut watch = LeakWatch::start(stack);
    let load = Load::start(&link, 2, 2);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let token = stack.aws.start_rotation(&secret).await;
    for name in ["createSecret", "setSecret", "testSecret", "finishSecret"] {
        kill_in_step(stack, &mut watch, name, &secret, &token).await;
        if name == "setSecret" {
            kill_set_secret_between_commits(stack, &secret, &token).await;
            // The half-done state: the pending user logs in to B with the new password, A's mappings hold the old one.
            let pending = stack.aws.secret_version(&secret, Some(&token), "AWSPENDING").await;
            let (user, password) = mapping_options(stack, &link.server, "report_reader").await;
            assert_ne!(
                (json!(user), json!(password)),
                (pending["username"].clone(), pending["password"].clone()),
                "A's mappings were switched although A's transaction never committed"
            );
            stack
                .clusters
                .login(
                    'b',
                    "orders",
                    pending["username"].as_str().unwrap(),
                    pending["password"].as_str().unwrap(),
                )
                .await;
        }
        retry_step(stack, &mut watch, name, &secret, &token).await;
        if name == "createSecret" {
            remember_pending(stack, &secret, &token).await;
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let counts = load.stop().await;
    assert_mappings_follow_current(stack, &link, &secret).await;
    assert!(counts.ok > 0, "the clients ran no query");
    stack.delete_link(&link).await;
    (counts.ok, counts.failed, counts.errors)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_step_killed_and_retried_completes_the_rotation_and_queries_keep_working() {
    let stack = Stack::get();
    let _turn = stack.exclusive().await;
    // A synchronous standby can be waited for only with WAL senders (the stack runs B at wal_level minimal).
    let _senders = stack
        .clusters
        .restart_with('b', &[("wal_level", "replica"), ("max_wal_senders", "2")]);
    let (ok, failed, errors) = rotation_killed_at_every_step("alternating").await;
    println!("alternating, every step killed once: {ok} queries ok, {failed} failed");
    assert_eq!(failed, 0, "failed queries: {errors:?}");
    let (ok, failed, errors) = rotation_killed_at_every_step("single").await;
    println!("single user, every step killed once: {ok} queries ok, {failed} failed: {errors:?}");
    // One user: the retried setSecret's own window (B's commit to A's) is the only place a new session may fail.
    assert!(
        errors.iter().all(|e| e.contains("password authentication failed")),
        "a failure other than the single-user window: {errors:?}"
    );
}
