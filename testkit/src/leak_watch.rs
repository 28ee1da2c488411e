//! No password in the logs: the function's log (captured) and both clusters'
//! server logs are searched for every password the stack and the tests know.

use crate::stack::Stack;
use std::io::{Read, Seek, SeekFrom};
use std::sync::Mutex;

/// The stack's own passwords (env file keys), always searched for.
const STACK_PASSWORDS: [&str; 4] = [
    "USERS_ADMIN_PASSWORD",
    "ORDERS_ADMIN_PASSWORD",
    "REPORT_READER_PASSWORD",
    "FDW_ROLE_PASSWORD",
];

/// The server logs, by env file key.
const SERVER_LOGS: [&str; 2] = ["PG_A_LOG", "PG_B_LOG"];

/// Bytes re-read before the last position, so that a password written across
/// two checks is still found whole.
const OVERLAP: u64 = 1024;

/// Passwords the tests made up, searched for in the logs too.
#[derive(Default)]
pub(crate) struct KnownPasswords(Mutex<Vec<String>>);

impl KnownPasswords {
    fn all(&self) -> Vec<String> {
        self.0.lock().expect("lock").clone()
    }
}

/// Adds a password the tests made up to those searched for in the logs.
pub fn remember_secret(password: &str) {
    Stack::get()
        .known_passwords
        .0
        .lock()
        .expect("lock")
        .push(password.to_string());
}

impl Stack {
    /// Every password the suite knows of, searched in what the function log and
    /// both server logs gained since the last check of this test binary (whole
    /// rescans after every invocation made suites quadratic in the log size).
    pub fn assert_no_password_leaked(&self) {
        self.leak_watch
            .get_or_init(|| Mutex::new(LeakWatch::start(self)))
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .check(self);
    }
}

/// The stack's passwords and those the tests made up.
fn every_password(stack: &Stack) -> Vec<String> {
    let mut secrets: Vec<String> = STACK_PASSWORDS.iter().map(|k| stack.var(k).to_string()).collect();
    if stack.has_var("PAYMENTS_ADMIN_PASSWORD") {
        secrets.push(stack.var("PAYMENTS_ADMIN_PASSWORD").to_string());
    }
    secrets.extend(stack.known_passwords.all());
    secrets
}

/// No known password in `text` (e.g. the log of a function process); `what` names it.
pub(crate) fn assert_no_password_in(stack: &Stack, text: &str, what: &str) {
    for s in every_password(stack) {
        assert!(!text.contains(s.as_str()), "a password appears in {what}");
    }
}

/// An incremental [`Stack::assert_no_password_leaked`]: each `check` searches
/// only what the function log and both server logs gained since the last one,
/// for every password known then. Suites that check after every step of long
/// runs use it (the server logs grow to hundreds of MB); remember a password
/// before the check that covers its first use.
pub struct LeakWatch {
    function_log: usize,
    server_logs: Vec<(String, u64)>,
}

impl LeakWatch {
    /// Watches from now.
    pub fn start(stack: &Stack) -> Self {
        // Cluster C's log too, on a stack that has it (stack.sh up --with-c).
        let server_logs = SERVER_LOGS
            .iter()
            .copied()
            .chain(stack.has_var("PG_C_LOG").then_some("PG_C_LOG"))
            .map(|k| {
                let path = stack.var(k).to_string();
                let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                (path, len)
            })
            .collect();
        Self {
            function_log: stack.functions.log.len(),
            server_logs,
        }
    }

    pub fn check(&mut self, stack: &Stack) {
        let secrets = every_password(stack);
        let new_function_log = {
            let buf = stack.functions.log.bytes();
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
