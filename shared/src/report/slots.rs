//! One bounded budget on cluster B shared by every fdw-report invocation:
//! a report holds one of `FDW_REPORT_REMOTE_SLOTS` slots (session advisory
//! locks on cluster A's writer, the one place all invocations reach) from
//! before its session on A's reader opens until that session and its
//! connection on B are gone. A burst of invocations then keeps at most that
//! many report sessions on B (and attempts: a refused attempt holds one of B's
//! slots until B refuses it after TLS and SCRAM) whatever the FDW role's
//! CONNECTION LIMIT says; the rest wait their turn on A, where waiting costs
//! B nothing. An invocation that dies releases its slots with its session.

use crate::pg::PgError;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use tokio_postgres::Client;

/// The advisory lock class of a link's report slots is `hashtext` of this and
/// the link's local schema (the two-int form; fdw-bridge's one DDL lock uses
/// the bigint form, a different lock space): each link has its own budget on
/// its cluster B.
const SLOT_CLASS_PREFIX: &str = "fdw-bridge report slots ";

/// First pause between tries for a slot; doubled up to [`MAX_PAUSE`], jittered.
const FIRST_PAUSE: Duration = Duration::from_millis(40);
const MAX_PAUSE: Duration = Duration::from_millis(800);

/// A slot held by the invocation's writer session; give it back with [`Slots::release`].
#[must_use = "give the slot back with Slots::release"]
#[derive(Debug)]
pub struct Slot(i32);

/// Why no slot was had.
#[derive(Debug, thiserror::Error)]
pub enum SlotError {
    #[error(
        "no report slot on cluster B's budget came free before the invocation's time ran out ({slots} slots \
         (FDW_REPORT_REMOTE_SLOTS) shared by every fdw-report invocation of this link, waited {waited_ms} ms): \
         run fewer invocations at once or give the function a longer timeout"
    )]
    TimedOut { slots: u32, waited_ms: u64 },
    #[error("cluster A's writer, taking a report slot: {0}")]
    Pg(#[from] PgError),
}

/// The slots of one database on cluster A, as one invocation (one writer
/// session) takes them.
#[derive(Debug)]
pub struct Slots {
    count: u32,
    /// Hashed on A into the advisory lock class.
    class: String,
    /// The slots this invocation's writer session holds. Advisory locks stack
    /// within a session (pg_try_advisory_lock on a lock the session holds says
    /// true again), so the session must never try one of its own.
    held: std::sync::Mutex<BTreeSet<i32>>,
}

impl Slots {
    /// `count` slots for the link whose foreign tables are in `schema` on A.
    pub fn new(count: u32, schema: &str) -> Self {
        Self {
            count: count.max(1),
            class: format!("{SLOT_CLASS_PREFIX}{schema}"),
            held: std::sync::Mutex::default(),
        }
    }

    /// The slots this session does not hold, from a random one on (so that
    /// waiting reports do not all try slot 0 first).
    fn candidates(&self) -> Vec<i32> {
        let count = i32::try_from(self.count).unwrap_or(i32::MAX);
        let start = i32::try_from(super::retry::random() % u64::from(self.count)).unwrap_or(0);
        let held = self.held.lock().map(|h| h.clone()).unwrap_or_default();
        (0..count)
            .map(|i| (start + i) % count)
            .filter(|s| !held.contains(s))
            .collect()
    }

    /// Waits for a free slot until `until`, trying all those the session does
    /// not hold at each turn, with jittered, growing pauses.
    pub async fn acquire(&self, writer: &Mutex<Client>, until: Instant) -> Result<Slot, SlotError> {
        let started = Instant::now();
        let mut attempt = 0u32;
        loop {
            let got: Option<i32> = {
                let client = writer.lock().await;
                // The only condition, so it runs row by row in the array's
                // order and stops at the first slot taken (LIMIT 1).
                let got = client
                    .query_opt(
                        "SELECT s FROM unnest($1::int[]) AS s WHERE pg_try_advisory_lock(hashtext($2::text), s) LIMIT 1",
                        &[&self.candidates(), &self.class],
                    )
                    .await
                    .map_err(|e| PgError::new("taking a report slot (pg_try_advisory_lock)", &e))?
                    .map(|r| r.get::<_, i32>(0));
                if let (Some(slot), Ok(mut held)) = (got, self.held.lock()) {
                    held.insert(slot);
                }
                got
            };
            if let Some(slot) = got {
                if attempt > 0 {
                    tracing::info!(
                        slot,
                        waited_ms = started.elapsed().as_millis() as u64,
                        "report slot on cluster B's budget taken"
                    );
                }
                return Ok(Slot(slot));
            }
            let pause = pause(attempt, super::retry::random());
            if Instant::now() + pause >= until {
                return Err(SlotError::TimedOut {
                    slots: self.count,
                    waited_ms: started.elapsed().as_millis() as u64,
                });
            }
            tokio::time::sleep(pause).await;
            attempt += 1;
        }
    }

    /// Gives the slot back. A failure is only logged: the slot is freed with the
    /// writer session at the end of the invocation anyway.
    pub async fn release(&self, writer: &Mutex<Client>, slot: Slot) {
        let client = writer.lock().await;
        match client
            .execute(
                "SELECT pg_advisory_unlock(hashtext($1::text), $2::int)",
                &[&self.class, &slot.0],
            )
            .await
        {
            Ok(_) => {
                if let Ok(mut held) = self.held.lock() {
                    held.remove(&slot.0);
                }
            }
            // Still held: the session is broken, and its locks end with it.
            Err(e) => {
                tracing::warn!(slot = slot.0, error = %PgError::new("giving back a report slot", &e), "the slot is freed when the writer session ends")
            }
        }
    }
}

/// The pause before try `attempt + 1` for a slot: half fixed, half random.
fn pause(attempt: u32, random: u64) -> Duration {
    let step = FIRST_PAUSE
        .saturating_mul(1u32.checked_shl(attempt.min(16)).unwrap_or(u32::MAX))
        .min(MAX_PAUSE);
    let half_ms = u64::try_from((step / 2).as_millis()).unwrap_or(u64::MAX).max(1);
    step / 2 + Duration::from_millis(random % (half_ms + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_never_tries_a_slot_it_holds() {
        let slots = Slots::new(4, "orders_remote");
        slots.held.lock().unwrap().extend([0, 2]);
        for _ in 0..20 {
            let mut c = slots.candidates();
            assert_eq!(c.len(), 2);
            c.sort_unstable();
            assert_eq!(c, [1, 3]);
        }
    }

    #[test]
    fn pauses_grow_to_a_cap_and_are_jittered() {
        assert_eq!(pause(0, 0), Duration::from_millis(20));
        assert_eq!(pause(0, 20), Duration::from_millis(40));
        assert_eq!(pause(3, 0), Duration::from_millis(160));
        assert!(pause(30, u64::MAX) <= MAX_PAUSE);
        assert!(pause(30, 0) >= MAX_PAUSE / 2);
    }
}
