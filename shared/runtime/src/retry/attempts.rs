//! The attempts of one piece of work: how many, since when, until when, and
//! one log line per retry with its cause and the time left.

use super::backoff::{delay, random};
use super::class::{Retryable, Transient};
use std::fmt;
use std::future::Future;
use std::time::{Duration, Instant};

/// Counts the attempts of one piece of work ("setSecret", "Create of link x",
/// "report orders_by_country") that may be retried until `until`.
#[derive(Debug)]
pub struct Retrier {
    what: String,
    started: Instant,
    until: Instant,
    retries: u32,
    last: Option<Transient>,
}

/// A transient failure that lasted: what it was, how long, how many attempts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outage {
    pub cause: Transient,
    pub attempts: u32,
    pub lasted: Duration,
}

impl fmt::Display for Outage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} for {} s ", self.cause.describe(), self.lasted.as_secs())?;
        if self.attempts > 1 {
            write!(f, "({} attempts, until the invocation's time ran out)", self.attempts)
        } else {
            f.write_str("(no time was left in the invocation to try again)")
        }
    }
}

impl Outage {
    /// The final error of work that outlasted the invocation: the outage and
    /// what to check first, then the last attempt's own error.
    pub fn explain(&self, last_error: &dyn fmt::Display) -> String {
        format!("{self}: {last_error}; {}", self.cause.advice())
    }
}

impl Retrier {
    /// `until`: no attempt starts after it (keep back what the caller needs to answer).
    pub fn new(what: impl Into<String>, until: Instant) -> Self {
        Self {
            what: what.into(),
            started: Instant::now(),
            until,
            retries: 0,
            last: None,
        }
    }

    /// After an attempt failed with `cause`: logs one line (cause, attempt,
    /// time left), waits the jittered backoff and says true; says false, at
    /// once, when the wait would end after `until`.
    pub async fn pause(&mut self, cause: Transient, error: &(dyn fmt::Display + Sync)) -> bool {
        self.last = Some(cause);
        let pause = delay(self.retries, random());
        let now = Instant::now();
        if now + pause >= self.until {
            return false;
        }
        self.retries += 1;
        tracing::warn!(
            work = %self.what,
            attempt = self.retries + 1,
            cause = cause.describe(),
            pause_ms = pause.as_millis() as u64,
            time_left_ms = self.until.saturating_duration_since(now).as_millis() as u64,
            failing_for_ms = now.duration_since(self.started).as_millis() as u64,
            error = %error,
            "retrying"
        );
        tokio::time::sleep(pause).await;
        true
    }

    /// The outage `last` (the work's final error) was part of: None when it
    /// is not transient or the work was never retried for one.
    pub fn outage_behind<E: Retryable + ?Sized>(&self, last: &E) -> Option<Outage> {
        last.transient().and(self.outage())
    }

    /// The final error's text: led by the outage when the last failure was
    /// part of one, as it is.
    pub fn explain<E: Retryable + ?Sized>(&self, last: &E, text: &str) -> String {
        match self.outage_behind(last) {
            Some(outage) => outage.explain(&text),
            None => text.to_string(),
        }
    }

    /// How many times the work was retried so far.
    pub fn retries(&self) -> u32 {
        self.retries
    }

    /// The transient failure the work met last, if it met one; None when it
    /// was never retried for one.
    pub fn outage(&self) -> Option<Outage> {
        self.last.map(|cause| Outage {
            cause,
            attempts: self.retries + 1,
            lasted: self.started.elapsed(),
        })
    }
}

/// Time kept back, beyond one session's connect bound, for the last attempt
/// and the answer after it.
const LAST_ATTEMPT_MARGIN: Duration = Duration::from_secs(2);

/// The last moment to start an attempt of work that must be done by
/// `deadline`, each attempt opening sessions bounded by `connect_bound`.
pub fn last_attempt_start(deadline: Instant, connect_bound: Duration) -> Instant {
    deadline
        .checked_sub(connect_bound + LAST_ATTEMPT_MARGIN)
        .unwrap_or(deadline)
}

/// Runs `attempt` until it succeeds, fails for a reason that does not pass by
/// itself, or the retrier's time is up; the last error is returned as it is
/// (the caller adds [`Retrier::outage`] to it). Each attempt must be safe to
/// repeat: it starts from what the clusters hold, not from what an earlier
/// attempt meant to do.
pub async fn retry<T, E, F, Fut>(retrier: &mut Retrier, mut attempt: F) -> Result<T, E>
where
    E: Retryable + fmt::Display + Sync,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    loop {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(e) => match e.transient() {
                Some(cause) if retrier.pause(cause, &e).await => {}
                _ => return Err(e),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[derive(Debug)]
    struct Failure(Option<Transient>);

    impl fmt::Display for Failure {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "failure {:?}", self.0)
        }
    }

    impl Retryable for Failure {
        fn transient(&self) -> Option<Transient> {
            self.0
        }
    }

    #[tokio::test(start_paused = true)]
    async fn transient_failures_are_retried_until_success() {
        let tries = Cell::new(0);
        let mut retrier = Retrier::new("work", Instant::now() + Duration::from_secs(60));
        let result = retry(&mut retrier, || {
            tries.set(tries.get() + 1);
            let n = tries.get();
            async move {
                if n < 4 {
                    Err(Failure(Some(Transient::Unreachable)))
                } else {
                    Ok(n)
                }
            }
        })
        .await;
        assert_eq!(result.unwrap(), 4);
        assert_eq!(retrier.retries(), 3);
        assert_eq!(retrier.outage().unwrap().attempts, 4);
    }

    #[tokio::test(start_paused = true)]
    async fn a_permanent_failure_is_not_retried() {
        let tries = Cell::new(0);
        let mut retrier = Retrier::new("work", Instant::now() + Duration::from_secs(60));
        let result: Result<(), _> = retry(&mut retrier, || {
            tries.set(tries.get() + 1);
            async { Err(Failure(None)) }
        })
        .await;
        assert!(result.is_err());
        assert_eq!(tries.get(), 1);
        assert_eq!(retrier.outage(), None);
    }

    #[tokio::test]
    async fn retries_stop_when_the_time_is_up_and_say_how_long_it_lasted() {
        let mut retrier = Retrier::new("work", Instant::now() + Duration::from_millis(1500));
        let result: Result<(), _> = retry(&mut retrier, || async { Err(Failure(Some(Transient::Unreachable))) }).await;
        let outage = retrier.outage().expect("an outage");
        assert!(result.is_err());
        // 125-250 ms, then 250-500 ms: at least two pauses fit in 1.5 s.
        assert!(outage.attempts >= 3, "{outage:?}");
        let text = outage.explain(&result.unwrap_err());
        assert!(
            text.starts_with(&format!(
                "unreachable (refused, reset, timed out, starting up or shutting down) for {} s ({} attempts, until the invocation's time ran out): ",
                outage.lasted.as_secs(),
                outage.attempts
            )),
            "{text}"
        );
        assert!(
            text.contains("failure Some(Unreachable); check the cluster's status"),
            "{text}"
        );
    }
}
