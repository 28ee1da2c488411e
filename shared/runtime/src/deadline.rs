//! The invocation's deadline, from the Lambda Runtime API's
//! `Lambda-Runtime-Deadline-Ms` header: "the date that the function times out
//! in Unix time milliseconds" (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html,
//! "Next invocation"). Real Lambda sends the invocation's start plus the
//! function's Timeout. `cargo lambda watch` sends the constant 600000
//! (cargo-lambda, crates/cargo-lambda-watch/src/runtime/functions_router.rs:
//! `.header(LAMBDA_RUNTIME_DEADLINE_MS, 600_000_u32)`), i.e. 1970-01-01T00:10:00Z:
//! read as a date it lies 56 years in the past, and a retry loop bounded by it
//! never retries. Every function reads the header here, one way.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Lambda's longest timeout: the budget assumed when the runtime's deadline is
/// not in the future (a local emulator), since the emulator never stops the
/// function and real Lambda never sends such a header.
pub const LONGEST_LAMBDA_TIMEOUT: Duration = Duration::from_secs(900);

/// The time left before `deadline_ms` (Unix epoch milliseconds) at `now_ms`;
/// None when the header is not in the future (so carries no deadline).
pub fn time_left(deadline_ms: u64, now_ms: u64) -> Option<Duration> {
    deadline_ms
        .checked_sub(now_ms)
        .filter(|ms| *ms > 0)
        .map(Duration::from_millis)
}

/// The deadline as an Instant. A header not in the future (cargo lambda watch's
/// 600000) gets Lambda's longest timeout instead, with a warning naming the
/// header's value: the work is neither cut off at once nor retried forever.
pub fn deadline_from_epoch_ms(deadline_ms: u64) -> Instant {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    match time_left(deadline_ms, now_ms) {
        Some(left) => Instant::now() + left,
        None => {
            tracing::warn!(
                deadline_ms,
                now_ms,
                "the runtime's Lambda-Runtime-Deadline-Ms is not in the future (cargo lambda watch sends 600000; \
                 real Lambda sends the invocation's deadline): assuming Lambda's longest timeout, 900 s"
            );
            Instant::now() + LONGEST_LAMBDA_TIMEOUT
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_in_the_future_is_the_time_left_and_anything_else_is_none() {
        let now = 1_800_000_000_000;
        assert_eq!(time_left(now + 300_000, now), Some(Duration::from_secs(300)));
        assert_eq!(time_left(now + 1, now), Some(Duration::from_millis(1)));
        assert_eq!(time_left(now, now), None);
        // cargo lambda watch's constant header.
        assert_eq!(time_left(600_000, now), None);
        assert_eq!(time_left(0, now), None);
    }

    #[test]
    fn the_emulators_header_gets_the_longest_timeout_not_zero() {
        let left = deadline_from_epoch_ms(600_000).saturating_duration_since(Instant::now());
        assert!(left > Duration::from_secs(890), "{left:?}");
        let real = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64 + 300_000;
        let left = deadline_from_epoch_ms(real).saturating_duration_since(Instant::now());
        assert!(
            left > Duration::from_secs(295) && left <= Duration::from_secs(300),
            "{left:?}"
        );
    }
}
