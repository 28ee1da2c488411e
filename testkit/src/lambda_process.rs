//! A function's own binary run as Lambda runs it, so that a test can kill the
//! process (SIGKILL, as when Lambda's sandbox dies or times out) in the middle
//! of a step. The binary asks a Runtime API for its event
//! (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html); this one,
//! on loopback, hands out the test's event once and then holds every further
//! request for the next event, as Lambda does between invocations. The test
//! finds its kill point by holding a lock the function's statement waits for.

use crate::functions::Functions;
use crate::leak_watch::assert_no_password_in;
use crate::stack::Stack;
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// A running function process with one event to handle.
pub struct FunctionProcess {
    child: Child,
    log: PathBuf,
    /// Requests the process made besides asking for events (a response, an
    /// error): the request line and its body.
    answers: Arc<Mutex<Vec<String>>>,
    bodies: Arc<Mutex<Vec<String>>>,
}

/// How many retries a function's log records: the one retry policy's lines
/// (`retrying` with its `cause`), not the SDK's own.
pub fn retries_logged(log: &str) -> usize {
    log.lines()
        .filter(|l| l.contains(" retrying ") && l.contains("cause="))
        .count()
}

/// What the Runtime API sends as `Lambda-Runtime-Deadline-Ms`.
#[derive(Clone, Copy, Debug)]
pub enum DeadlineHeader {
    /// As real Lambda: the invocation's start plus the function's timeout, in
    /// Unix epoch milliseconds.
    In(Duration),
    /// As `cargo lambda watch` does whatever its `--timeout`: the constant 600000.
    CargoLambdaWatch,
}

impl DeadlineHeader {
    fn epoch_ms(self) -> u128 {
        match self {
            Self::In(timeout) => (SystemTime::now() + timeout)
                .duration_since(UNIX_EPOCH)
                .expect("clock")
                .as_millis(),
            Self::CargoLambdaWatch => 600_000,
        }
    }
}

impl Functions {
    /// Starts `binary` (a function's bootstrap, `env!("CARGO_BIN_EXE_<name>")`)
    /// with the stack's settings and a Runtime API that gives it `event`, with
    /// a Lambda deadline `timeout` away.
    pub async fn spawn_function(&self, binary: &str, event: &Value, timeout: Duration) -> FunctionProcess {
        self.spawn_function_with(binary, event, timeout, &[]).await
    }

    /// [`Self::spawn_function`] with environment variables of the test's own
    /// (e.g. `AWS_ENDPOINT_URL` through a [`crate::request_gate::RequestGate`]).
    pub async fn spawn_function_with(
        &self,
        binary: &str,
        event: &Value,
        timeout: Duration,
        env: &[(&str, String)],
    ) -> FunctionProcess {
        self.spawn_function_as(binary, event, DeadlineHeader::In(timeout), env)
            .await
    }

    /// [`Self::spawn_function_with`] with the deadline header of the test's choice.
    pub async fn spawn_function_as(
        &self,
        binary: &str,
        event: &Value,
        deadline: DeadlineHeader,
        env: &[(&str, String)],
    ) -> FunctionProcess {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("runtime API: bind");
        let api = listener.local_addr().expect("runtime API address");
        let answers = Arc::new(Mutex::new(Vec::new()));
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let deadline_ms = deadline.epoch_ms();
        let body = event.to_string();
        let served = Arc::new(Mutex::new(false));
        let (recorded, recorded_bodies) = (Arc::clone(&answers), Arc::clone(&bodies));
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                let recorder = Recorder {
                    served: Arc::clone(&served),
                    answers: Arc::clone(&recorded),
                    bodies: Arc::clone(&recorded_bodies),
                };
                tokio::spawn(serve(conn, body.clone(), deadline_ms, recorder));
            }
        });
        let log = std::env::temp_dir().join(format!("{}.log", crate::unique("fdw-function")));
        let out = std::fs::File::create(&log).expect("function log file");
        let err = out.try_clone().expect("function log file");
        // The AWS_* settings (moto's endpoint, region, keys) are in this process's environment.
        let child = Command::new(binary)
            .env("AWS_LAMBDA_RUNTIME_API", api.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", "fdw-bridge-test")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "test")
            .env("FDW_CA_BUNDLE", self.env.var("FDW_CA_BUNDLE"))
            .env("RUST_LOG", "debug")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
        FunctionProcess {
            child,
            log,
            answers,
            bodies,
        }
    }
}

impl FunctionProcess {
    /// Waits until a session on `cluster` ('a' or 'b') whose statement matches
    /// `query_like` (a LIKE pattern) waits for a lock: the function has reached
    /// the kill point the test's lock makes. Panics after 30 s or when the process ends first.
    pub async fn wait_until_blocked(&mut self, cluster: char, query_like: &str) {
        let quoted = query_like.replace('\'', "''");
        self.wait_until_session(cluster, &format!("wait_event_type = 'Lock' AND query LIKE '{quoted}'"))
            .await;
    }

    /// Waits until `cluster` has a session matching `condition` (SQL over
    /// pg_stat_activity's columns, e.g. `wait_event = 'SyncRep'`). Panics
    /// after 30 s or when the process answers or ends first.
    pub async fn wait_until_session(&mut self, cluster: char, condition: &str) {
        let stack = Stack::get();
        let session = stack
            .clusters
            .superuser(cluster, if cluster == 'a' { "users" } else { "orders" })
            .await;
        let sql = format!("SELECT count(*) FROM pg_stat_activity WHERE {condition}");
        let started = std::time::Instant::now();
        loop {
            let waiting: i64 = session.query_one(&sql, &[]).await.expect("pg_stat_activity").get(0);
            if waiting > 0 {
                return;
            }
            let answered = self.answers.lock().expect("lock").clone();
            if !answered.is_empty() || !self.is_running() {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                panic!(
                    "the function answered ({answered:?}) or ended before cluster {cluster} had a session where {condition}. Its log:\n{log}"
                );
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "cluster {cluster} never had a session where {condition}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Kills the process with SIGKILL and waits for it; panics when it had
    /// already answered (the kill point was never reached). Returns its log,
    /// in which no known password may appear.
    pub fn kill(mut self) -> String {
        let answered = self.answers.lock().expect("lock").clone();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let _ = std::fs::remove_file(&self.log);
        assert!(
            answered.is_empty(),
            "the function answered before it was killed ({answered:?}): the kill point was not reached. Its log:\n{log}"
        );
        assert_no_password_in(Stack::get(), &log, "the killed function's log");
        log
    }

    /// Waits for the function's answer to its one event: `Ok(body)` for a
    /// response, `Err(body)` for an error (Lambda's errorType and message).
    /// Panics when the process ends first or after `timeout`. The process is
    /// killed then (it would wait for a next event forever), and its log
    /// checked: no known password in it.
    pub async fn answer(self, timeout: Duration) -> Result<String, String> {
        self.answer_and_log(timeout).await.0
    }

    /// [`Self::answer`] and the function's log (what it said about its retries).
    pub async fn answer_and_log(mut self, timeout: Duration) -> (Result<String, String>, String) {
        let started = std::time::Instant::now();
        loop {
            let answered = self.answers.lock().expect("lock").first().cloned();
            if let Some(request) = answered {
                let body = self.bodies.lock().expect("lock").first().cloned().unwrap_or_default();
                let _ = self.child.kill();
                let _ = self.child.wait();
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                assert_no_password_in(Stack::get(), &log, "the function's log");
                let _ = std::fs::remove_file(&self.log);
                let answer = if request.contains("/response") {
                    Ok(body)
                } else {
                    Err(body)
                };
                return (answer, log);
            }
            if !self.is_running() || started.elapsed() > timeout {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                panic!(
                    "the function gave no answer within {timeout:?} (running: {}). Its log:\n{log}",
                    self.is_running()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for FunctionProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One connection of the function's runtime client: the event once, then
/// every request for the next event held; a response or an error recorded
/// and acknowledged.
struct Recorder {
    served: Arc<Mutex<bool>>,
    answers: Arc<Mutex<Vec<String>>>,
    bodies: Arc<Mutex<Vec<String>>>,
}

async fn serve(conn: TcpStream, event: String, deadline_ms: u128, recorder: Recorder) {
    let Recorder {
        served,
        answers,
        bodies,
    } = recorder;
    let mut conn = BufReader::new(conn);
    loop {
        let mut head = Vec::new();
        loop {
            let mut line = String::new();
            match conn.read_line(&mut line).await {
                Ok(0) | Err(_) => return,
                Ok(_) if line == "\r\n" => break,
                Ok(_) => head.push(line),
            }
        }
        let request = head.first().cloned().unwrap_or_default();
        let length: usize = head
            .iter()
            .find_map(|h| {
                let (k, v) = h.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().ok())?
            })
            .unwrap_or(0);
        let chunked = head.iter().any(|h| {
            h.split_once(':')
                .is_some_and(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"))
        });
        let body = if chunked {
            match read_chunked(&mut conn).await {
                Some(body) => body,
                None => return,
            }
        } else {
            let mut body = vec![0u8; length];
            if conn.read_exact(&mut body).await.is_err() {
                return;
            }
            body
        };
        if request.starts_with("GET ") && request.contains("/runtime/invocation/next") {
            let first = {
                let mut served = served.lock().expect("lock");
                !std::mem::replace(&mut *served, true)
            };
            if !first {
                // Lambda holds this request until the next invocation: none comes.
                std::future::pending::<()>().await;
            }
            let reply = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: killed-step-test\r\n\
                 Lambda-Runtime-Deadline-Ms: {deadline_ms}\r\n\
                 Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:fdw-bridge-test\r\n\
                 Lambda-Runtime-Trace-Id: Root=1-00000000-000000000000000000000000\r\nContent-Length: {}\r\n\r\n{event}",
                event.len()
            );
            if conn.get_mut().write_all(reply.as_bytes()).await.is_err() {
                return;
            }
        } else {
            bodies
                .lock()
                .expect("lock")
                .push(String::from_utf8_lossy(&body).into_owned());
            answers.lock().expect("lock").push(request.trim().to_string());
            // Closed after the answer: the client reconnects for the next event.
            let _ = conn
                .get_mut()
                .write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
                .await;
            return;
        }
    }
}

/// A body sent with `Transfer-Encoding: chunked` (hex size line, data, CRLF;
/// a zero size ends it); None when the connection ends first.
async fn read_chunked(conn: &mut BufReader<TcpStream>) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        conn.read_line(&mut size).await.ok()?;
        let size = usize::from_str_radix(size.trim().split(';').next()?.trim(), 16).ok()?;
        let mut chunk = vec![0u8; size + 2];
        conn.read_exact(&mut chunk).await.ok()?;
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(&chunk[..size]);
    }
}
