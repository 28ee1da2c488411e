//! The invocation's one session on cluster A's writer: run records, results
//! and report slots go through it. A failover of A drops it (or leaves it on a
//! writer that was demoted, read-only); the next use opens a new one, and each
//! use is tried again under the one retry policy while the invocation has time
//! left. The report slots the old session held ended with it: [`Session::generation`]
//! tells [`super::slots`] which session a slot belongs to.

use fdw_bridge_pg::{ConnectError, ConnectTarget, Connector};
use fdw_bridge_runtime::retry::{Outage, Retrier, Retryable, Transient};
use futures_util::future::BoxFuture;
use std::fmt;
use std::marker::PhantomData;
use std::time::Instant;
use tokio::sync::Mutex;
use tokio_postgres::Client;

/// Lets a use of the session borrow the caller's data (report names, result
/// rows) for as long as the session: `&'s &'env ()` implies `'env: 's`, which
/// a closure returning a future for any `'s` otherwise cannot say.
pub type Within<'s, 'env> = PhantomData<&'s &'env ()>;

pub struct Session {
    pub client: Client,
    /// Which session of the invocation this is (1 for the first).
    pub generation: u64,
}

pub struct Writer {
    connector: Connector,
    target: ConnectTarget,
    session: Mutex<Option<Session>>,
    opened: std::sync::atomic::AtomicU64,
}

/// Why a use of the writer failed: no session, or the use itself.
#[derive(Debug)]
pub enum WriterFailure<E> {
    Connect(ConnectError),
    Use(E),
}

impl<E: Retryable> Retryable for WriterFailure<E> {
    fn transient(&self) -> Option<Transient> {
        match self {
            Self::Connect(e) => e.transient(),
            Self::Use(e) => e.transient(),
        }
    }
}

impl<E: fmt::Display> fmt::Display for WriterFailure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Connect(e) => e.fmt(f),
            Self::Use(e) => e.fmt(f),
        }
    }
}

/// A use of the writer that failed for good, with the outage it outlasted.
#[derive(Debug)]
pub struct WriterError<E> {
    pub failure: WriterFailure<E>,
    pub outage: Option<Outage>,
}

impl<E: fmt::Display> fmt::Display for WriterError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.outage {
            Some(outage) => f.write_str(&outage.explain(&self.failure)),
            None => self.failure.fmt(f),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for WriterError<E> {}

impl Writer {
    /// No session is opened until the first use.
    pub fn new(connector: Connector, target: ConnectTarget) -> Self {
        Self {
            connector,
            target,
            session: Mutex::new(None),
            opened: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Runs `work` on the session (opened first when there is none, or the
    /// last one closed), again on a new session after a transient failure,
    /// until `until`. `work` must be safe to repeat: its earlier attempt may
    /// or may not have committed.
    pub async fn with_session<'env, T, E>(
        &self,
        what: &str,
        until: Instant,
        mut work: impl for<'s> FnMut(&'s mut Session, Within<'s, 'env>) -> BoxFuture<'s, Result<T, E>>,
    ) -> Result<T, WriterError<E>>
    where
        E: Retryable + fmt::Display + Sync,
    {
        let mut retrier = Retrier::new(what, until);
        loop {
            let mut guard = self.session.lock().await;
            let result = match self.open(&mut guard).await {
                Ok(session) => work(session, PhantomData).await.map_err(WriterFailure::Use),
                Err(e) => Err(WriterFailure::Connect(e)),
            };
            let failure = match result {
                Ok(value) => return Ok(value),
                Err(failure) => failure,
            };
            let cause = failure.transient();
            if cause.is_some() {
                // A read-only or broken session is of no more use: the next attempt opens another.
                *guard = None;
            }
            drop(guard);
            match cause {
                Some(cause) if retrier.pause(cause, &failure).await => {}
                _ => {
                    return Err(WriterError {
                        failure,
                        outage: cause.and(retrier.outage()),
                    })
                }
            }
        }
    }

    /// The live session in `slot`, opened when there is none or it closed.
    async fn open<'g>(&self, slot: &'g mut Option<Session>) -> Result<&'g mut Session, ConnectError> {
        let session = match slot.take() {
            Some(live) if !live.client.is_closed() => live,
            closed => {
                if closed.is_some() {
                    tracing::warn!(cluster = %self.target.label, "the writer session closed (a failover or restart of cluster A?); opening a new one");
                }
                let client = self.connector.connect(&self.target).await?;
                let generation = self.opened.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                Session { client, generation }
            }
        };
        Ok(slot.insert(session))
    }
}
