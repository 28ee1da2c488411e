//! When a report is tried again: a cluster that refused a session for lack of
//! connection slots (cluster A's reader directly, or cluster B behind
//! postgres_fdw) may have one a moment later, so that report is retried with
//! jittered exponential backoff while the invocation has time left. Pure.

use crate::pg::SqlState;
use std::time::Duration;

/// First delay; doubled per attempt up to [`MAX_DELAY`].
const BASE_DELAY: Duration = Duration::from_millis(250);
const MAX_DELAY: Duration = Duration::from_secs(5);

/// What postgres_fdw puts in its error's detail when cluster B refused the
/// session: the error on A is "could not connect to server" (SQLSTATE 08001)
/// with B's own message, so B's SQLSTATE (53300, 57P03) is only in the text.
const REFUSED_FOR_NOW: [&str; 6] = [
    "remaining connection slots are reserved",
    "sorry, too many clients already",
    "too many connections for role",
    "too many connections for database",
    "the database system is starting up",
    "the database system is shutting down",
];

/// Whether a failed session or statement was refused for now (no free
/// connection slot, the role's or database's CONNECTION LIMIT, a restart),
/// on A (`code`) or on B behind postgres_fdw (`message`).
pub fn refused_for_now(code: Option<&SqlState>, message: &str) -> bool {
    crate::diagnostic::is_refused_for_now(code) || REFUSED_FOR_NOW.iter().any(|m| message.contains(m))
}

/// What cluster B says when it has no slot left for an ordinary role, as
/// postgres_fdw reports it on A ("could not connect to server ...").
const REMOTE_FULL: [&str; 2] = [
    "remaining connection slots are reserved",
    "sorry, too many clients already",
];

/// What a report says when B itself was full although the FDW role was within
/// its CONNECTION LIMIT: the link's budget no longer fits B.
pub const OVER_BUDGET_ADVICE: &str = "cluster B refused the FDW role for lack of free slots, not by the role's CONNECTION LIMIT: \
     the link's budget is larger than B holds now (B restarted with fewer max_connections?) or B's own sessions took \
     its slots; run fdw-bootstrap's refresh (it re-derives the budget from B) and see README \"Sizing cluster B's connections\"";

/// Whether a failure through postgres_fdw is cluster B out of slots for ordinary
/// roles (rather than the FDW role's own limit, or cluster A refusing).
pub fn remote_cluster_full(message: &str) -> bool {
    message.contains("could not connect to server") && REMOTE_FULL.iter().any(|m| message.contains(m))
}

/// The delay before attempt `attempt + 1` (attempt 0 failed first): half of
/// the exponential step fixed, half random ("equal jitter"), so invocations
/// that failed together do not come back together. `random` is any u64.
pub fn delay(attempt: u32, random: u64) -> Duration {
    let step = BASE_DELAY
        .saturating_mul(1u32.checked_shl(attempt.min(16)).unwrap_or(u32::MAX))
        .min(MAX_DELAY);
    let half = step / 2;
    let half_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX).max(1);
    half + Duration::from_millis(random % (half_ms + 1))
}

/// A random u64 from the standard library's per-instance hash keys (no
/// dependency; this is jitter, not cryptography).
pub fn random() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_refusals_on_either_cluster_are_retried_and_nothing_else() {
        assert!(refused_for_now(Some(&SqlState::TOO_MANY_CONNECTIONS), ""));
        assert!(refused_for_now(Some(&SqlState::CANNOT_CONNECT_NOW), ""));
        // As postgres_fdw reports B's refusal on A.
        let fdw = "could not connect to server \"orders_link\" (connection to server at \"b\" (10.0.0.2), port 5432 failed: FATAL:  remaining connection slots are reserved for non-replication superuser connections)";
        assert!(refused_for_now(
            Some(&SqlState::SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION),
            fdw
        ));
        assert!(refused_for_now(None, "FATAL:  sorry, too many clients already"));
        assert!(refused_for_now(
            None,
            "FATAL:  too many connections for role \"fdw_orders\""
        ));
        assert!(!refused_for_now(
            Some(&SqlState::INVALID_PASSWORD),
            "password authentication failed"
        ));
        assert!(!refused_for_now(
            Some(&SqlState::QUERY_CANCELED),
            "canceling statement due to statement timeout"
        ));
        assert!(!refused_for_now(None, "connection refused"));
        assert!(remote_cluster_full(fdw));
        assert!(!remote_cluster_full(
            "could not connect to server \"l\" (...): FATAL:  too many connections for role \"fdw_orders\""
        ));
        // Cluster A refusing the report session itself is not B.
        assert!(!remote_cluster_full("FATAL:  sorry, too many clients already"));
    }

    #[test]
    fn delays_grow_are_capped_and_jittered() {
        assert_eq!(delay(0, 0), Duration::from_millis(125));
        assert_eq!(delay(0, 125), Duration::from_millis(250));
        assert_eq!(delay(1, 0), Duration::from_millis(250));
        assert_eq!(delay(10, 0), Duration::from_millis(2500));
        assert!(delay(40, u64::MAX) <= MAX_DELAY);
        let spread: std::collections::BTreeSet<Duration> = (0..50).map(|_| delay(3, random())).collect();
        assert!(spread.len() > 10, "jitter spreads the retries: {spread:?}");
    }
}
