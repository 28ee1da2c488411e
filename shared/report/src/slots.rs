//! One bounded budget per link, on its remote cluster (B, or C for a second
//! link), shared by every fdw-report invocation: a report holds one of the
//! link's slots (`FDW_REPORT_REMOTE_SLOTS`, or the link's `remote_slots` in
//! `FDW_REPORT_LINKS`; a report that joins two links holds one of each, taken
//! in schema order) (session advisory
//! locks on cluster A's writer, the one place all invocations reach) from
//! before its session on A's reader opens until that session and its
//! connection on B are gone. A burst of invocations then keeps at most that
//! many report sessions on B (and attempts: a refused attempt holds one of B's
//! slots until B refuses it after TLS and SCRAM) whatever the FDW role's
//! CONNECTION LIMIT says; the rest wait their turn on A, where waiting costs
//! B nothing. An invocation that dies releases its slots with its session.

use super::links::ReportLink;
use super::writer::{Session, Writer, WriterError};
use fdw_bridge_pg::PgError;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// The advisory lock class of a link's report slots is `hashtext` of this and
/// the link's local schema (the two-int form; fdw-bridge's one DDL lock uses
/// the bigint form, a different lock space): each link has its own budget on
/// its cluster B.
const SLOT_CLASS_PREFIX: &str = "fdw-bridge report slots ";

/// First pause between tries for a slot; doubled up to [`MAX_PAUSE`], jittered.
const FIRST_PAUSE: Duration = Duration::from_millis(40);
const MAX_PAUSE: Duration = Duration::from_millis(800);

/// A slot held by one of the invocation's writer sessions; give it back with [`Slots::release`].
#[must_use = "give the slot back with Slots::release"]
#[derive(Debug)]
pub struct Slot {
    slot: i32,
    /// The writer session that holds it: a slot ends with its session.
    generation: u64,
}

/// Why no slot was had.
#[derive(Debug, thiserror::Error)]
pub enum SlotError {
    #[error(
        "no report slot on the remote cluster of {link} came free before the invocation's time ran out ({slots} slots \
         ({setting}) shared by every fdw-report invocation of this link, waited {waited_ms} ms): \
         run fewer invocations at once or give the function a longer timeout"
    )]
    TimedOut {
        /// [`ReportLink::describe`].
        link: String,
        setting: String,
        slots: u32,
        waited_ms: u64,
    },
    #[error("cluster A's writer, taking a report slot of {link}: {source}")]
    Writer {
        link: String,
        #[source]
        source: WriterError<PgError>,
    },
}

/// The slots this invocation holds, and in which of its writer sessions.
#[derive(Debug, Default, Clone)]
struct Held {
    generation: u64,
    slots: BTreeSet<i32>,
}

/// The slots of one database on cluster A, as one invocation (one writer
/// session at a time) takes them.
#[derive(Debug)]
pub struct Slots {
    count: u32,
    /// The link, for messages ([`ReportLink::describe`]) and the setting that sizes it.
    link: String,
    setting: String,
    /// Hashed on A into the advisory lock class.
    class: String,
    /// The slots this invocation's writer session holds. Advisory locks stack
    /// within a session (pg_try_advisory_lock on a lock the session holds says
    /// true again), so the session must never try one of its own.
    held: std::sync::Mutex<Held>,
}

impl Slots {
    /// The link's `remote_slots` slots, in the lock class of its local schema on A.
    pub fn for_link(link: &ReportLink) -> Self {
        Self {
            count: link.remote_slots.max(1),
            link: link.describe(),
            setting: link.slots_setting(),
            class: format!("{SLOT_CLASS_PREFIX}{}", link.schema),
            held: std::sync::Mutex::default(),
        }
    }

    /// The link these slots budget, for messages.
    pub fn link(&self) -> &str {
        &self.link
    }

    /// The slots session `generation` does not hold, from a random one on (so
    /// that waiting reports do not all try slot 0 first). A new session holds none.
    fn candidates(&self, held: &Held, generation: u64) -> Vec<i32> {
        let count = i32::try_from(self.count).unwrap_or(i32::MAX);
        let start = i32::try_from(fdw_bridge_runtime::retry::random() % u64::from(self.count)).unwrap_or(0);
        (0..count)
            .map(|i| (start + i) % count)
            .filter(|s| held.generation != generation || !held.slots.contains(s))
            .collect()
    }

    fn held(&self) -> Held {
        self.held.lock().map(|h| h.clone()).unwrap_or_default()
    }

    /// Waits for a free slot until `until`, trying all those the session does
    /// not hold at each turn, with jittered, growing pauses. A writer session
    /// lost on the way (a failover of A) is opened again by the writer.
    pub async fn acquire(&self, writer: &Writer, until: Instant) -> Result<Slot, SlotError> {
        let started = Instant::now();
        let mut attempt = 0u32;
        loop {
            let held = self.held();
            let got: Option<(i32, u64)> = writer
                .with_session("taking a report slot", until, |session: &mut Session, _| {
                    let candidates = self.candidates(&held, session.generation);
                    let class = &self.class;
                    Box::pin(async move {
                        // The only condition, so it runs row by row in the array's
                        // order and stops at the first slot taken (LIMIT 1).
                        let got = session
                            .client
                            .query_opt(
                                "SELECT s FROM unnest($1::int[]) AS s WHERE pg_try_advisory_lock(hashtext($2::text), s) LIMIT 1",
                                &[&candidates, class],
                            )
                            .await
                            .map_err(|e| PgError::new("taking a report slot (pg_try_advisory_lock)", &e))?;
                        Ok(got.map(|r| (r.get::<_, i32>(0), session.generation)))
                    })
                })
                .await
                .map_err(|source| SlotError::Writer {
                    link: self.link.clone(),
                    source,
                })?;
            if let Some((slot, generation)) = got {
                if let Ok(mut held) = self.held.lock() {
                    if held.generation != generation {
                        *held = Held {
                            generation,
                            slots: BTreeSet::new(),
                        };
                    }
                    held.slots.insert(slot);
                }
                if attempt > 0 {
                    tracing::info!(
                        slot,
                        link = %self.link,
                        waited_ms = started.elapsed().as_millis() as u64,
                        "report slot on the link's remote cluster's budget taken"
                    );
                }
                return Ok(Slot { slot, generation });
            }
            let pause = pause(attempt, fdw_bridge_runtime::retry::random());
            if Instant::now() + pause >= until {
                return Err(SlotError::TimedOut {
                    link: self.link.clone(),
                    setting: self.setting.clone(),
                    slots: self.count,
                    waited_ms: started.elapsed().as_millis() as u64,
                });
            }
            tokio::time::sleep(pause).await;
            attempt += 1;
        }
    }

    /// Gives the slot back. A failure is only logged, and a slot of a session
    /// that is gone is gone with it: nothing to give back.
    pub async fn release(&self, writer: &Writer, slot: Slot) {
        let (class, number, generation) = (&self.class, slot.slot, slot.generation);
        // One attempt: a lost session has released its locks already.
        let released = writer
            .with_session(
                "giving back a report slot",
                Instant::now(),
                |session: &mut Session, _| {
                    Box::pin(async move {
                        if session.generation != generation {
                            return Ok(());
                        }
                        session
                            .client
                            .execute(
                                "SELECT pg_advisory_unlock(hashtext($1::text), $2::int)",
                                &[class, &number],
                            )
                            .await
                            .map(|_| ())
                            .map_err(|e| PgError::new("giving back a report slot", &e))
                    })
                },
            )
            .await;
        match released {
            Ok(()) => {
                if let Ok(mut held) = self.held.lock() {
                    if held.generation == slot.generation {
                        held.slots.remove(&slot.slot);
                    }
                }
            }
            // Still held: the session is broken, and its locks end with it.
            Err(e) => {
                tracing::warn!(slot = slot.slot, link = %self.link, error = %e, "the slot is freed when the writer session ends")
            }
        }
    }
}

/// The pause before try `attempt + 1` for a slot: half fixed, half random.
fn pause(attempt: u32, random: u64) -> Duration {
    fdw_bridge_runtime::retry::equal_jitter(FIRST_PAUSE, MAX_PAUSE, attempt, random)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::catalog::LinkRef;

    fn link(reference: LinkRef, schema: &str, remote_slots: u32) -> ReportLink {
        ReportLink {
            reference,
            schema: schema.into(),
            remote_slots,
        }
    }

    #[test]
    fn each_link_has_a_lock_class_of_its_own_and_is_named_in_its_errors() {
        let b = Slots::for_link(&link(LinkRef::Default, "orders_remote", 8));
        let c = Slots::for_link(&link(LinkRef::Named("payments".into()), "payments_remote", 2));
        assert_ne!(b.class, c.class);
        assert_eq!(c.count, 2);
        let e = SlotError::TimedOut {
            link: c.link.clone(),
            setting: c.setting.clone(),
            slots: c.count,
            waited_ms: 5,
        }
        .to_string();
        assert!(
            e.starts_with(r#"no report slot on the remote cluster of link payments (schema "payments_remote", FDW_REPORT_LINKS) came free"#)
                && e.contains("(2 slots (FDW_REPORT_LINKS payments.remote_slots) shared"),
            "{e}"
        );
        assert!(
            b.link().contains(r#"schema "orders_remote" (FDW_REPORT_SCHEMA)"#),
            "{}",
            b.link()
        );
    }

    #[test]
    fn a_session_never_tries_a_slot_it_holds_and_a_new_session_holds_none() {
        let slots = Slots::for_link(&link(LinkRef::Default, "orders_remote", 4));
        let held = Held {
            generation: 1,
            slots: BTreeSet::from([0, 2]),
        };
        for _ in 0..20 {
            let mut c = slots.candidates(&held, 1);
            assert_eq!(c.len(), 2);
            c.sort_unstable();
            assert_eq!(c, [1, 3]);
        }
        assert_eq!(slots.candidates(&held, 2).len(), 4);
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
