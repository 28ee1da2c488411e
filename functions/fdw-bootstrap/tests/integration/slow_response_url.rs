//! A ResponseURL that answers slowly (a congested path to S3): each PUT try is
//! bounded (10 s), so a first try answered after 12 s is abandoned and the
//! response delivered by the next; a URL slower than the whole invocation makes
//! the function give up with `ResponseUndeliverable` *before* its Lambda
//! deadline (at the deadline Lambda kills it and reports only a timeout).
//! The listener is the test's own (the stack's answers at once).

use fdw_bridge_testkit as harness;
use lambda_runtime::Diagnostic;
use serde_json::json;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

/// A ResponseURL on loopback that answers the `n`th PUT (from 1) after `delay(n)`;
/// returns its URL and the count of PUTs it received.
async fn slow_listener(delay: fn(u32) -> Duration) -> (String, Arc<AtomicU32>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/slow", listener.local_addr().unwrap());
    let puts = Arc::new(AtomicU32::new(0));
    let counted = Arc::clone(&puts);
    tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            let counted = Arc::clone(&counted);
            tokio::spawn(async move {
                let mut conn = BufReader::new(conn);
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    if conn.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    if line == "\r\n" {
                        break;
                    }
                    if let Some((k, v)) = line.split_once(':') {
                        if k.eq_ignore_ascii_case("content-length") {
                            length = v.trim().parse().unwrap_or(0);
                        }
                    }
                }
                let mut body = vec![0u8; length];
                let _ = conn.read_exact(&mut body).await;
                let n = counted.fetch_add(1, Ordering::SeqCst) + 1;
                tokio::time::sleep(delay(n)).await;
                let _ = conn
                    .get_mut()
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .await;
            });
        }
    });
    (url, puts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_response_url_is_retried_within_the_deadline_or_given_up_before_it() {
    let stack = harness::Stack::get();
    let _turn = stack.shared().await;
    let bootstrap = stack.bootstrap().await;
    // No properties: a FAILED answer at once, so all the time goes to the PUT.
    let props = json!({"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:fdw-bootstrap"});

    let retried = async {
        let (url, puts) = slow_listener(|n| {
            if n == 1 {
                Duration::from_secs(12)
            } else {
                Duration::ZERO
            }
        })
        .await;
        let mut event = stack.event("Create", "slow-once", None, &props);
        event["ResponseURL"] = json!(url);
        let started = Instant::now();
        let answer = bootstrap
            .handle_event(event, tokio::time::Instant::now() + Duration::from_secs(30))
            .await
            .unwrap_or_else(|e| panic!("the second PUT answers at once: {e}"));
        (answer.success, puts.load(Ordering::SeqCst), started.elapsed())
    };
    let given_up = async {
        let (url, puts) = slow_listener(|_| Duration::from_secs(60)).await;
        let mut event = stack.event("Create", "slow-always", None, &props);
        event["ResponseURL"] = json!(url);
        let budget = Duration::from_secs(4);
        let started = Instant::now();
        let e = bootstrap
            .handle_event(event, tokio::time::Instant::now() + budget)
            .await
            .expect_err("no PUT is ever answered in time");
        (
            Diagnostic::from(e),
            puts.load(Ordering::SeqCst),
            started.elapsed(),
            budget,
        )
    };
    let ((success, retried_puts, retried_took), (gave_up, gave_up_puts, gave_up_took, budget)) =
        tokio::join!(retried, given_up);
    println!(
        "first PUT answered after 12 s: delivered by PUT {retried_puts} in {retried_took:?}; \
         never answered: {} after {gave_up_puts} PUT(s) in {gave_up_took:?} of a {budget:?} budget: {}",
        gave_up.error_type, gave_up.error_message
    );
    assert!(!success, "no properties: a FAILED answer");
    assert_eq!(
        retried_puts, 2,
        "the slow first PUT was abandoned and the second delivered"
    );
    assert!(retried_took < Duration::from_secs(13), "took {retried_took:?}");
    assert_eq!(gave_up.error_type, "ResponseUndeliverable");
    // Returned with time to spare: Lambda reports the error only from a function still running.
    assert!(
        gave_up_took + Duration::from_millis(250) < budget,
        "gave up {gave_up_took:?} into a {budget:?} budget: too late for Lambda to hear of it"
    );
}
