//! The running stack as the tests see it: its env file, sessions on both
//! clusters, and the state a test binary shares across its tests.

use crate::function_log::FunctionLog;
use crate::leak_watch::{KnownPasswords, LeakWatch};
use crate::outage::Turns;
use fdw_bridge::pg::Connector;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU32;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;
use tokio_postgres::{Client, NoTls};

/// The running stack's settings, and everything the tests of one binary share.
pub struct Stack {
    env: HashMap<String, String>,
    /// The function's log; the tracing subscriber it is installed in is process-wide.
    pub(crate) function_log: FunctionLog,
    /// Passwords the tests made up, searched for in the logs with the stack's own.
    pub(crate) known_passwords: KnownPasswords,
    /// What the logs gained since this binary's last check ([`Stack::assert_no_password_leaked`]).
    pub(crate) leak_watch: OnceLock<Mutex<LeakWatch>>,
    /// Ordinary tests share the stack; a test that stops a cluster needs it alone.
    pub(crate) turns: Turns,
    /// moto's stand-in rotation Lambda, made once per binary ([`Stack::rotation_lambda_arn`]).
    pub(crate) rotation_lambda_arn: OnceLock<String>,
    /// The counter behind [`crate::unique`].
    pub(crate) names_made: AtomicU32,
}

/// The one process-wide value of the harness. Process-wide because the tests
/// of a binary run on parallel threads against one stack, and what they share
/// is process-wide by nature: the env file is read and the AWS_* variables set
/// once, the tracing subscriber (the log capture) can be installed only once,
/// and the leak watch and the outage turns must see every test of the binary.
static STACK: OnceLock<Stack> = OnceLock::new();

impl Stack {
    /// The stack, read from its env file on first use; panics saying how to
    /// start it when it is not running.
    pub fn get() -> &'static Stack {
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
            Stack {
                env,
                function_log: FunctionLog::install(),
                known_passwords: KnownPasswords::default(),
                leak_watch: OnceLock::new(),
                turns: Turns::default(),
                rotation_lambda_arn: OnceLock::new(),
                names_made: AtomicU32::new(0),
            }
        });
        // Watch from here: what this test binary's runs add to the logs.
        stack.leak_watch.get_or_init(|| Mutex::new(LeakWatch::start(stack)));
        stack
    }

    pub fn var(&self, key: &str) -> &str {
        self.env
            .get(key)
            .unwrap_or_else(|| panic!("{key} is missing from the stack's env file: run `make stack-down stack-up`"))
    }

    /// Whether the env file has `key` (cluster C's variables exist only with `stack.sh up --with-c`).
    pub fn has_var(&self, key: &str) -> bool {
        self.env.contains_key(key)
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

    /// The PostgreSQL major a cluster runs, as the server says (the stack runs
    /// `PG_MAJOR`, or `PG_MAJOR_A` / `PG_MAJOR_B` for one cluster).
    pub async fn server_major(&self, cluster: char) -> u32 {
        let db = if cluster == 'a' { "users" } else { "orders" };
        let num: String = self
            .superuser(cluster, db)
            .await
            .query_one("SHOW server_version_num", &[])
            .await
            .expect("SHOW server_version_num")
            .get(0);
        num.parse::<u32>().expect("server_version_num is a number") / 10000
    }

    /// A role's `CONNECTION LIMIT` on cluster B (`rolconnlimit`; -1 for none).
    pub async fn connection_limit_on_b(&self, role: &str) -> i32 {
        self.superuser('b', "orders")
            .await
            .query_one("SELECT rolconnlimit FROM pg_roles WHERE rolname = $1", &[&role])
            .await
            .expect("rolconnlimit")
            .get(0)
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

    /// A session on cluster A's `users` as `report_reader`, the mapped role the
    /// links give SELECT on their foreign tables.
    pub async fn report_reader(&self) -> Client {
        self.login('a', "users", "report_reader", self.var("REPORT_READER_PASSWORD"))
            .await
    }

    /// A connector verifying against the stack's CA, with the functions' default 5 s bound.
    pub fn connector(&self) -> Connector {
        connector_with_ca(self.var("FDW_CA_BUNDLE"))
    }
}

/// A connector verifying against `ca_bundle`, with the functions' default 5 s bound.
pub(crate) fn connector_with_ca(ca_bundle: &str) -> Connector {
    Connector::with_ca_bundle(Path::new(ca_bundle), Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("{e}: run `make stack-up`"))
}

/// The repository this harness was built from (stack/stack.sh, scripts/, .venv).
pub(crate) fn repo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn env_file() -> PathBuf {
    let dir = std::env::var("FDW_STACK_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo_dir().join(".stack"));
    dir.join("env")
}

fn parse_env(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('\'').trim_matches('"').to_string()))
        .collect()
}
