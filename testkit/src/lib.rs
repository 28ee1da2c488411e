//! Test harness: the local stack (two PostgreSQL clusters with TLS, moto's
//! server, the ResponseURL listener) as the tests see it, read from the env
//! file that `stack/stack.sh up` writes. Nothing here is faked: requests go
//! through the real handler, the real AWS SDK and real TLS sessions.

pub mod delay_proxy;

use fdw_bridge::aws::RdsEndpointSource;
use fdw_bridge::aws::SecretsManagerSource;
use fdw_bridge::bootstrap::http_client;
use fdw_bridge::bootstrap::{Answer, Bootstrap};
use fdw_bridge::pg::Connector;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio_postgres::{Client, NoTls};

/// The leak watch of this test binary (see [`Stack::assert_no_password_leaked`]).
static LEAK_WATCH: OnceLock<Mutex<LeakWatch>> = OnceLock::new();

/// The running stack's settings.
pub struct Stack {
    pub env: HashMap<String, String>,
}

impl Stack {
    pub fn get() -> &'static Stack {
        static STACK: OnceLock<Stack> = OnceLock::new();
        let stack = STACK.get_or_init(|| {
            let path = env_file();
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
                panic!(
                    "the local stack is not running ({}: {e}). Start it with `make stack-up` \
                     (`make test` starts it by itself)",
                    path.display()
                )
            });
            let env = parse_env(&text);
            for (k, v) in &env {
                if k.starts_with("AWS_") {
                    std::env::set_var(k, v);
                }
            }
            install_log_capture();
            Stack { env }
        });
        // Watch from here: what this test binary's runs add to the logs.
        LEAK_WATCH.get_or_init(|| Mutex::new(LeakWatch::start(stack)));
        stack
    }

    pub fn var(&self, key: &str) -> &str {
        self.env
            .get(key)
            .unwrap_or_else(|| panic!("{key} is missing from the stack's env file: run `make stack-down stack-up`"))
    }

    pub fn port(&self, cluster: char) -> u16 {
        self.var(&format!("PG_{}_PORT", cluster.to_ascii_uppercase()))
            .parse()
            .expect("port")
    }

    /// A superuser session over the cluster's Unix socket, for setting up and inspecting.
    pub async fn superuser(&self, cluster: char, dbname: &str) -> Client {
        let up = cluster.to_ascii_uppercase();
        let mut config = tokio_postgres::Config::new();
        config
            .host_path(self.var(&format!("PG_{up}_SOCKET_DIR")))
            .port(self.port(cluster))
            .user("postgres")
            .dbname(dbname);
        let (client, connection) = config
            .connect(NoTls)
            .await
            .unwrap_or_else(|e| panic!("cluster {cluster} is not answering on its socket: {e}: run `make stack-up`"));
        tokio::spawn(connection);
        client
    }

    /// A session over TLS (verify-full against the stack's CA) as a login role.
    pub async fn login(&self, cluster: char, dbname: &str, user: &str, password: &str) -> Client {
        self.connector()
            .connect(&fdw_bridge::pg::ConnectTarget {
                label: format!("cluster {cluster}"),
                endpoint: fdw_bridge::aws::Endpoint {
                    host: "127.0.0.1".into(),
                    port: self.port(cluster),
                },
                dbname: dbname.into(),
                user: user.into(),
                password: password.into(),
                credential_source: "test".into(),
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// A connector verifying against the stack's CA, with the functions' default 5 s bound.
    pub fn connector(&self) -> Connector {
        connector_with_ca(self.var("FDW_CA_BUNDLE"))
    }

    /// The handler with real clients, verifying TLS against `ca_bundle`.
    pub async fn bootstrap_with_ca(&self, ca_bundle: &str) -> Bootstrap {
        let sdk = aws_config::load_from_env().await;
        Bootstrap {
            connector: connector_with_ca(ca_bundle),
            secrets: Arc::new(SecretsManagerSource::new(aws_sdk_secretsmanager::Client::new(&sdk))),
            endpoints: Arc::new(RdsEndpointSource::new(aws_sdk_rds::Client::new(&sdk))),
            http: http_client().expect("http client"),
        }
    }

    pub async fn bootstrap(&self) -> Bootstrap {
        self.bootstrap_with_ca(self.var("FDW_CA_BUNDLE")).await
    }

    /// Puts a secret in moto's Secrets Manager (created or given a new value); returns its ARN.
    pub async fn put_secret(&self, name: &str, value: Value) -> String {
        let sdk = aws_config::load_from_env().await;
        let sm = aws_sdk_secretsmanager::Client::new(&sdk);
        let text = value.to_string();
        match sm.create_secret().name(name).secret_string(&text).send().await {
            Ok(out) => out.arn().expect("arn").to_string(),
            Err(_) => {
                let out = sm
                    .put_secret_value()
                    .secret_id(name)
                    .secret_string(&text)
                    .send()
                    .await
                    .unwrap_or_else(|e| {
                        panic!("moto at {} refused secret {name}: {e:?}", self.var("AWS_ENDPOINT_URL"))
                    });
                out.arn().expect("arn").to_string()
            }
        }
    }

    /// An FDW role secret of the tests' own (each test has its own role on B).
    pub async fn fdw_secret(&self, username: &str, password: &str) -> String {
        let arn = self
            .put_secret(
                &format!("fdw-bridge-test/{username}"),
                json!({
                    "engine": "postgres", "host": "127.0.0.1", "port": self.port('b'),
                    "dbname": "orders", "username": username, "password": password,
                    "masterarn": self.var("ORDERS_ADMIN_SECRET_ARN"),
                }),
            )
            .await;
        remember_secret(password);
        arn
    }

    /// Properties of a link between the stack's clusters, the way a template would give them.
    pub fn properties(&self, server: &str, local_schema: &str, fdw_secret_arn: &str) -> Value {
        json!({
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:fdw-bootstrap",
            "ServerName": server,
            "LocalCluster": {
                "Endpoint": "127.0.0.1", "Port": self.port('a').to_string(), "Database": "users",
                "AdminSecretArn": self.var("USERS_ADMIN_SECRET_ARN"),
            },
            "RemoteCluster": {
                "ClusterIdentifier": self.var("ORDERS_CLUSTER_ID"), "Endpoint": "127.0.0.1",
                "Port": self.port('b').to_string(), "Database": "orders",
                "AdminSecretArn": self.var("ORDERS_ADMIN_SECRET_ARN"),
            },
            "FdwRoleSecretArn": fdw_secret_arn,
            "LocalRoles": ["report_reader"],
            "ImportSchemas": [{"RemoteSchema": "public", "LocalSchema": local_schema}],
            "ServerOptions": {"SslRootCert": self.var("FDW_CA_BUNDLE")},
        })
    }

    /// A CloudFormation request as CloudFormation sends it, answering to the stack's listener.
    pub fn event(&self, kind: &str, response_path: &str, physical_id: Option<&str>, props: &Value) -> Value {
        let mut e = json!({
            "RequestType": kind,
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:fdw-bootstrap",
            "ResponseURL": format!("{}/{response_path}", self.var("RESPONSE_URL_BASE")),
            "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/fdw-bridge-test/00000000-0000-0000-0000-000000000000",
            "RequestId": format!("{kind}-{response_path}"),
            "ResourceType": "Custom::FdwLink",
            "LogicalResourceId": "FdwLink",
            "ResourceProperties": props,
        });
        if let Some(id) = physical_id {
            e["PhysicalResourceId"] = json!(id);
        }
        if kind == "Update" {
            // Tests that care (replacement) set the real old properties.
            e["OldResourceProperties"] = props.clone();
        }
        e
    }

    /// Runs one request through the handler with a Lambda deadline `timeout` away;
    /// returns the answer, the body the listener stored, and the time it took.
    /// After every invocation, no known password may appear in the function's log
    /// or either cluster's server log.
    pub async fn invoke(&self, bootstrap: &Bootstrap, event: Value, timeout: Duration) -> Invocation {
        let name = event["ResponseURL"]
            .as_str()
            .and_then(|u| u.rsplit('/').next())
            .expect("ResponseURL")
            .to_string();
        let stored = PathBuf::from(self.var("RESPONSES_DIR")).join(format!("{name}.json"));
        let _ = std::fs::remove_file(&stored);
        let started = Instant::now();
        let deadline = tokio::time::Instant::now() + timeout;
        let answer = bootstrap
            .handle_event(event, deadline)
            .await
            .unwrap_or_else(|e| panic!("no response delivered: {e}"));
        let elapsed = started.elapsed();
        let body: Value = serde_json::from_str(
            &std::fs::read_to_string(&stored)
                .unwrap_or_else(|e| panic!("the listener stored no response at {}: {e}", stored.display())),
        )
        .expect("response body is JSON");
        assert_eq!(body["PhysicalResourceId"], json!(answer.physical_resource_id));
        self.assert_no_password_leaked();
        Invocation { answer, body, elapsed }
    }

    /// Every password the suite knows of, searched in what the function log and
    /// both server logs gained since the last check of this test binary (whole
    /// rescans after every invocation made suites quadratic in the log size).
    pub fn assert_no_password_leaked(&self) {
        LEAK_WATCH
            .get_or_init(|| Mutex::new(LeakWatch::start(self)))
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .check(self);
    }
}

pub struct Invocation {
    pub answer: Answer,
    pub body: Value,
    pub elapsed: Duration,
}

impl Invocation {
    pub fn status(&self) -> &str {
        self.body["Status"].as_str().unwrap_or("")
    }
    pub fn reason(&self) -> &str {
        self.body["Reason"].as_str().unwrap_or("")
    }
    pub fn data(&self, key: &str) -> &str {
        self.body["Data"][key].as_str().unwrap_or("")
    }
    #[track_caller]
    pub fn assert_success(&self) -> &Self {
        assert_eq!(self.status(), "SUCCESS", "reason: {}", self.reason());
        self
    }
    #[track_caller]
    pub fn assert_failed_with(&self, needles: &[&str]) -> &Self {
        assert_eq!(self.status(), "FAILED", "reason: {}", self.reason());
        for n in needles {
            assert!(self.reason().contains(n), "{n:?} not in the reason: {}", self.reason());
        }
        assert!(self.elapsed < Duration::from_secs(30), "took {:?}", self.elapsed);
        self
    }
}

fn env_file() -> PathBuf {
    let dir = std::env::var("FDW_STACK_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.stack"));
    dir.join("env")
}

fn parse_env(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('\'').trim_matches('"').to_string()))
        .collect()
}

/// Passwords the tests made up, also searched for in the logs.
fn secrets_seen() -> &'static Mutex<Vec<String>> {
    static SEEN: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    SEEN.get_or_init(|| Mutex::new(Vec::new()))
}

pub fn remember_secret(s: &str) {
    secrets_seen().lock().expect("lock").push(s.to_string());
}

fn known_secrets() -> Vec<String> {
    secrets_seen().lock().expect("lock").clone()
}

/// The function's log, captured the way Lambda would print it (same subscriber settings).
fn log_buffer() -> &'static Arc<Mutex<Vec<u8>>> {
    static BUF: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUF.get_or_init(|| Arc::new(Mutex::new(Vec::new())))
}

pub fn captured_log() -> String {
    String::from_utf8_lossy(&log_buffer().lock().expect("lock")).to_string()
}

#[derive(Clone)]
struct Capture;

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        log_buffer().lock().expect("lock").extend_from_slice(buf);
        if std::env::var_os("FDW_TEST_SHOW_LOG").is_some() {
            std::io::stderr().write_all(buf)?;
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn install_log_capture() {
    // The function's own logging setup, at DEBUG, so that even what is logged
    // only when debugging is checked for secrets.
    std::env::set_var("AWS_LAMBDA_LOG_LEVEL", "debug");
    fdw_bridge::logging::init_with_writer(|| Capture);
}

/// A name no other test uses (tests run in parallel against one stack).
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}_{}_{}",
        std::process::id() % 100_000,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Nothing of the link is left: no server, mapping, foreign table or schema on
/// A, no FDW role (or clone) on B.
pub async fn assert_link_gone(stack: &Stack, server: &str, local_schema: &str, fdw_user: &str) {
    let a = stack.superuser('a', "users").await;
    let left: i64 = a
        .query_one(
            "SELECT (SELECT count(*) FROM pg_foreign_server WHERE srvname::text = $1::text)
                  + (SELECT count(*) FROM pg_user_mappings WHERE srvname::text = $1::text)
                  + (SELECT count(*) FROM pg_namespace WHERE nspname::text = $2::text)
                  + (SELECT count(*) FROM pg_foreign_table ft JOIN pg_class c ON c.oid = ft.ftrelid
                       JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname::text = $2::text)",
            &[&server, &local_schema],
        )
        .await
        .expect("catalog query on A")
        .get(0);
    assert_eq!(left, 0, "server {server:?} or schema {local_schema:?} left behind on A");
    let b = stack.superuser('b', "orders").await;
    let roles: i64 = b
        .query_one(
            "SELECT count(*) FROM pg_roles WHERE rolname::text IN ($1::text, $1::text || '_clone')",
            &[&fdw_user],
        )
        .await
        .expect("catalog query on B")
        .get(0);
    assert_eq!(roles, 0, "FDW role {fdw_user:?} left behind on B");
}

/// A link made through the real handler, for suites that need foreign tables
/// (reports, rotation). Each has its own server, local schema and FDW role.
pub struct TestLink {
    pub server: String,
    pub local_schema: String,
    pub fdw_user: String,
    pub fdw_password: String,
    pub fdw_secret_arn: String,
    pub physical_id: String,
    pub properties: Value,
}

impl Stack {
    /// Creates a link importing B's `public` schema into a local schema of its own.
    pub async fn create_link(&self, tag: &str) -> TestLink {
        let bootstrap = self.bootstrap().await;
        let fdw_user = unique(&format!("fdw_{tag}"));
        let fdw_password = format!("{}-pw-{}", tag, std::process::id());
        let fdw_secret_arn = self.fdw_secret(&fdw_user, &fdw_password).await;
        let server = unique(&format!("{tag}_link"));
        let local_schema = unique(&format!("{tag}_remote"));
        let properties = self.properties(&server, &local_schema, &fdw_secret_arn);
        let created = self
            .invoke(
                &bootstrap,
                self.event("Create", &unique(&format!("{tag}-create")), None, &properties),
                Duration::from_secs(120),
            )
            .await;
        created.assert_success();
        TestLink {
            server,
            local_schema,
            fdw_user,
            fdw_password,
            fdw_secret_arn,
            physical_id: created.answer.physical_resource_id.clone(),
            properties,
        }
    }

    /// Deletes a link made by [`Stack::create_link`] and checks nothing is left.
    pub async fn delete_link(&self, link: &TestLink) {
        let bootstrap = self.bootstrap().await;
        self.invoke(
            &bootstrap,
            self.event(
                "Delete",
                &unique("link-delete"),
                Some(&link.physical_id),
                &link.properties,
            ),
            Duration::from_secs(120),
        )
        .await
        .assert_success();
        assert_link_gone(self, &link.server, &link.local_schema, &link.fdw_user).await;
    }
}

/// Rotation (fdw-rotate): the secret, starting a rotation as Secrets Manager
/// does, and the handler with real clients.
impl Stack {
    /// A rotation secret for `link` (AWS rotation-template keys plus the link's
    /// keys), with `strategy` "alternating" or "single"; returns its ARN.
    pub async fn rotation_secret(&self, link: &TestLink, strategy: &str) -> String {
        remember_secret(&link.fdw_password);
        self.put_secret(
            &format!("fdw-bridge-test/rotate/{}", link.fdw_user),
            json!({
                "engine": "postgres", "host": "127.0.0.1", "port": self.port('b'), "dbname": "orders",
                "username": link.fdw_user, "password": link.fdw_password,
                "masterarn": self.var("ORDERS_ADMIN_SECRET_ARN"),
                "local": {"host": "127.0.0.1", "port": self.port('a').to_string(), "dbname": "users",
                          "adminarn": self.var("USERS_ADMIN_SECRET_ARN")},
                "server": link.server, "strategy": strategy,
            }),
        )
        .await
    }

    /// moto's stand-in rotation Lambda (scripts/moto-rotation-lambda.py), made once per test binary.
    pub fn rotation_lambda_arn(&self) -> &'static str {
        static ARN: OnceLock<String> = OnceLock::new();
        ARN.get_or_init(|| {
            let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
            let out = std::process::Command::new(repo.join(".venv/bin/python"))
                .arg(repo.join("scripts/moto-rotation-lambda.py"))
                .output()
                .unwrap_or_else(|e| panic!("cannot run .venv/bin/python ({e}): run `make stack-up`"));
            assert!(
                out.status.success(),
                "scripts/moto-rotation-lambda.py failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        })
    }

    /// Starts a rotation the way Secrets Manager does (RotateSecret: rotation
    /// enabled, a new version with AWSPENDING and no value yet); returns that
    /// version's id, the ClientRequestToken of the four steps.
    pub async fn start_rotation(&self, secret_arn: &str) -> String {
        let sdk = aws_config::load_from_env().await;
        let sm = aws_sdk_secretsmanager::Client::new(&sdk);
        let out = sm
            .rotate_secret()
            .secret_id(secret_arn)
            .rotation_lambda_arn(self.rotation_lambda_arn())
            .rotation_rules(
                aws_sdk_secretsmanager::types::RotationRulesType::builder()
                    .automatically_after_days(30)
                    .build(),
            )
            .rotate_immediately(true)
            .send()
            .await
            .unwrap_or_else(|e| panic!("moto refused RotateSecret on {secret_arn}: {e:?}"));
        out.version_id()
            .expect("RotateSecret returns the new version")
            .to_string()
    }

    /// The fdw-rotate handler with real clients (the SDK against moto, TLS to both clusters).
    pub async fn rotator(&self) -> fdw_bridge::rotate::Rotator {
        let sdk = aws_config::load_from_env().await;
        let client = aws_sdk_secretsmanager::Client::new(&sdk);
        fdw_bridge::rotate::Rotator {
            connector: self.connector(),
            store: Arc::new(fdw_bridge::rotate::SecretsManagerStore::new(client.clone())),
            secrets: Arc::new(SecretsManagerSource::new(client)),
        }
    }

    /// A version of a secret by stage (and version id), as JSON.
    pub async fn secret_version(&self, secret_arn: &str, version: Option<&str>, stage: &str) -> Value {
        let sdk = aws_config::load_from_env().await;
        let sm = aws_sdk_secretsmanager::Client::new(&sdk);
        let out = sm
            .get_secret_value()
            .secret_id(secret_arn)
            .set_version_id(version.map(str::to_string))
            .version_stage(stage)
            .send()
            .await
            .unwrap_or_else(|e| panic!("no {stage} version of {secret_arn}: {e:?}"));
        serde_json::from_str(out.secret_string().expect("a string secret")).expect("JSON secret")
    }
}

/// An incremental [`Stack::assert_no_password_leaked`]: each `check` searches
/// only what the function log and both server logs gained since the last one,
/// for every password known then. Suites that check after every step of long
/// runs use it (the server logs grow to hundreds of MB); remember a password
/// before the check that covers its first use.
/// Bytes re-read before the last position, so that a password written across
/// two checks is still found whole.
const OVERLAP: u64 = 1024;

pub struct LeakWatch {
    function_log: usize,
    server_logs: Vec<(String, u64)>,
}

impl LeakWatch {
    pub fn start(stack: &Stack) -> Self {
        let server_logs = ["PG_A_LOG", "PG_B_LOG"]
            .iter()
            .map(|k| {
                let path = stack.var(k).to_string();
                let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                (path, len)
            })
            .collect();
        Self {
            function_log: log_buffer().lock().expect("lock").len(),
            server_logs,
        }
    }

    pub fn check(&mut self, stack: &Stack) {
        use std::io::{Read, Seek, SeekFrom};
        let mut secrets: Vec<String> = [
            "USERS_ADMIN_PASSWORD",
            "ORDERS_ADMIN_PASSWORD",
            "REPORT_READER_PASSWORD",
            "FDW_ROLE_PASSWORD",
        ]
        .iter()
        .map(|k| stack.var(k).to_string())
        .collect();
        secrets.extend(known_secrets());
        let new_function_log = {
            let buf = log_buffer().lock().expect("lock");
            let from = self.function_log.min(buf.len()).saturating_sub(OVERLAP as usize);
            let text = String::from_utf8_lossy(&buf[from..]).to_string();
            self.function_log = buf.len();
            text
        };
        for s in &secrets {
            assert!(
                !new_function_log.contains(s.as_str()),
                "a password appears in the function's log"
            );
        }
        for (path, offset) in &mut self.server_logs {
            let mut file = std::fs::File::open(&*path).expect("server log");
            let from = offset.saturating_sub(OVERLAP);
            file.seek(SeekFrom::Start(from)).expect("seek in server log");
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes).expect("read server log");
            *offset = from + bytes.len() as u64;
            let text = String::from_utf8_lossy(&bytes);
            for s in &secrets {
                assert!(
                    !text.contains(s.as_str()),
                    "a password appears in the server log {path}"
                );
            }
        }
    }
}

/// Starts a cluster again when dropped, also when the test panics: a test that
/// stops a cluster never leaves it down for the binaries after it.
pub struct RestartOnDrop(char);

impl Drop for RestartOnDrop {
    fn drop(&mut self) {
        stack_sh(&["pg-start", &self.0.to_string()]);
    }
}

impl Stack {
    /// A guard that starts `cluster` ('a' or 'b') again when dropped; take it before stopping the cluster.
    pub fn restart_on_drop(&self, cluster: char) -> RestartOnDrop {
        RestartOnDrop(cluster)
    }

    /// Stops one cluster (same port when it comes back). Blocking: it waits for the server to stop.
    pub fn stop_cluster(&self, cluster: char) {
        stack_sh(&["pg-stop", &cluster.to_string()]);
    }
}

fn connector_with_ca(ca_bundle: &str) -> Connector {
    Connector::with_ca_bundle(Path::new(ca_bundle), Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("{e}: run `make stack-up`"))
}

/// Runs `stack/stack.sh` (failure-injection commands of the local stack).
fn stack_sh(args: &[&str]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../stack/stack.sh");
    let status = std::process::Command::new(&script)
        .args(args)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(status.success(), "stack/stack.sh {args:?} failed");
}
