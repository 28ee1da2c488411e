//! A minimal Lambda Runtime API (the endpoints `lambda_runtime` calls: the next
//! invocation, its response or error, an init error), so that a function's real
//! binary runs as Lambda runs it: a fresh process that initialises, polls for
//! its first event and answers. `cargo lambda watch` would start it through
//! `cargo run` (a freshness check and a debug build in the timing); this starts
//! the release binary itself and notes when each request arrives.

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, Mutex};
use tokio::task::JoinHandle;

/// A function's answer to one invocation, noted when it arrived.
pub struct Answer {
    pub request_id: String,
    /// false when the function posted to `/error` (or `/init/error`).
    pub ok: bool,
    pub body: Value,
    pub at: Instant,
}

struct Shared {
    events: Mutex<mpsc::UnboundedReceiver<(String, Value)>>,
    polled: mpsc::UnboundedSender<Instant>,
    answers: mpsc::UnboundedSender<Answer>,
}

/// One emulated Runtime API on a free loopback port, for one function process.
pub struct RuntimeApi {
    pub address: String,
    events: mpsc::UnboundedSender<(String, Value)>,
    polled: mpsc::UnboundedReceiver<Instant>,
    answers: mpsc::UnboundedReceiver<Answer>,
    server: JoinHandle<()>,
    next_id: u64,
}

impl RuntimeApi {
    pub async fn start() -> RuntimeApi {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding the Runtime API emulator");
        let address = listener.local_addr().expect("emulator address").to_string();
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let (polled_tx, polled_rx) = mpsc::unbounded_channel();
        let (answers_tx, answers_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            events: Mutex::new(events_rx),
            polled: polled_tx,
            answers: answers_tx,
        });
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let shared = shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| route(request, shared.clone()));
                    // A connection ends when the function process does.
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        RuntimeApi {
            address,
            events: events_tx,
            polled: polled_rx,
            answers: answers_rx,
            server,
            next_id: 0,
        }
    }

    /// Queues an event for the function's next poll; returns its request id.
    pub fn queue(&mut self, event: Value) -> String {
        self.next_id += 1;
        let id = format!("bench-{}-{}", std::process::id(), self.next_id);
        self.events
            .send((id.clone(), event))
            .expect("the emulator's server task is running");
        id
    }

    /// When the function first asked for an event (its init done), waiting up to `timeout`.
    pub async fn first_poll(&mut self, timeout: Duration) -> Instant {
        tokio::time::timeout(timeout, self.polled.recv())
            .await
            .expect("the function did not poll for an event in time (its log is named above)")
            .expect("the emulator's server task is running")
    }

    /// The answer to `request_id`, waiting up to `timeout`.
    pub async fn answer(&mut self, request_id: &str, timeout: Duration) -> Answer {
        let answer = tokio::time::timeout(timeout, self.answers.recv())
            .await
            .unwrap_or_else(|_| {
                panic!("no answer to {request_id} within {timeout:?} (the function's log is named above)")
            })
            .expect("the emulator's server task is running");
        assert!(
            answer.request_id == request_id || answer.request_id.is_empty(),
            "answer to {} while waiting for {request_id}",
            answer.request_id
        );
        answer
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

type Reply = Response<Full<Bytes>>;

async fn route(request: Request<Incoming>, shared: Arc<Shared>) -> Result<Reply, hyper::Error> {
    let path = request.uri().path().to_string();
    let method = request.method().clone();
    if method == Method::GET && path.ends_with("/runtime/invocation/next") {
        let _ = shared.polled.send(Instant::now());
        // Long poll, as Lambda does: held until the bench queues an event.
        let Some((id, event)) = shared.events.lock().await.recv().await else {
            return Ok(reply(StatusCode::GONE, Bytes::new()));
        };
        let deadline_ms = (SystemTime::now() + Duration::from_secs(300))
            .duration_since(UNIX_EPOCH)
            .expect("clock after 1970")
            .as_millis();
        let response = Response::builder()
            .header("lambda-runtime-aws-request-id", &id)
            .header("lambda-runtime-deadline-ms", deadline_ms.to_string())
            .header(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:fdw-bench",
            )
            .header("lambda-runtime-trace-id", "Root=1-00000000-000000000000000000000000")
            .body(Full::new(Bytes::from(event.to_string())))
            .expect("a valid response");
        return Ok(response);
    }
    let body = request.into_body().collect().await?.to_bytes();
    let at = Instant::now();
    // /2018-06-01/runtime/invocation/{id}/response | /error, /2018-06-01/runtime/init/error
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (request_id, ok) = match parts.as_slice() {
        [_, "runtime", "invocation", id, "response"] => (id.to_string(), true),
        [_, "runtime", "invocation", id, "error"] => (id.to_string(), false),
        [_, "runtime", "init", "error"] => (String::new(), false),
        _ => return Ok(reply(StatusCode::NOT_FOUND, Bytes::new())),
    };
    let body = serde_json::from_slice(&body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into()));
    let _ = shared.answers.send(Answer {
        request_id,
        ok,
        body,
        at,
    });
    Ok(reply(StatusCode::ACCEPTED, Bytes::from_static(b"{\"status\":\"OK\"}")))
}

fn reply(status: StatusCode, body: Bytes) -> Reply {
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = status;
    r
}
