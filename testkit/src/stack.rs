//! The running stack as the tests see it: the three parts it stands up
//! (`clusters`, the AWS emulator `aws`, the function runner `functions`), its
//! env file, and the state a test binary shares across its tests.

use crate::aws::Aws;
use crate::clusters::Clusters;
use crate::env::{env_file, Env};
use crate::function_log::FunctionLog;
use crate::functions::Functions;
use crate::leak_watch::{KnownPasswords, LeakWatch};
use crate::outage::Turns;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU32;
use std::sync::{Arc, Mutex, OnceLock};

/// The running stack: what it stands up, and everything the tests of one binary share.
/// What needs more than one part (a link: fdw-bootstrap's handler, a secret in
/// moto, both clusters) is a method of `Stack` itself.
pub struct Stack {
    /// The PostgreSQL clusters: sessions, ports, stopping and restarting.
    pub clusters: Clusters,
    /// moto (Secrets Manager, RDS): secrets and starting rotations.
    pub aws: Aws,
    /// Functions' own binaries run as Lambda runs them, and the captured function log.
    pub functions: Functions,
    env: Arc<Env>,
    /// Passwords the tests made up, searched for in the logs with the stack's own.
    pub(crate) known_passwords: KnownPasswords,
    /// What the logs gained since this binary's last check ([`Stack::assert_no_password_leaked`]).
    pub(crate) leak_watch: OnceLock<Mutex<LeakWatch>>,
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
            let env = Arc::new(Env::parse(&text));
            for (k, v) in env.iter() {
                if k.starts_with("AWS_") {
                    std::env::set_var(k, v);
                }
            }
            Stack {
                clusters: Clusters {
                    env: Arc::clone(&env),
                    turns: Turns::default(),
                },
                aws: Aws {
                    env: Arc::clone(&env),
                    rotation_lambda_arn: OnceLock::new(),
                },
                functions: Functions {
                    env: Arc::clone(&env),
                    log: FunctionLog::install(),
                },
                env,
                known_passwords: KnownPasswords::default(),
                leak_watch: OnceLock::new(),
                names_made: AtomicU32::new(0),
            }
        });
        // Watch from here: what this test binary's runs add to the logs.
        stack.leak_watch.get_or_init(|| Mutex::new(LeakWatch::start(stack)));
        stack
    }

    /// A variable of the stack's env file; panics naming it when it is missing.
    pub fn var(&self, key: &str) -> &str {
        self.env.var(key)
    }

    /// Whether the env file has `key` (cluster C's variables exist only with `stack.sh up --with-c`).
    pub fn has_var(&self, key: &str) -> bool {
        self.env.has_var(key)
    }
}

/// The repository this harness was built from (stack/stack.sh, scripts/, .venv).
pub(crate) fn repo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}
