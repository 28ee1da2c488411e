//! How long to wait before the next attempt. Pure.

use std::time::Duration;

/// First delay; doubled per attempt up to [`MAX_DELAY`].
const BASE_DELAY: Duration = Duration::from_millis(250);
/// A failover is over in well under a minute: polling every 5 s at most finds
/// the new writer soon after it answers.
const MAX_DELAY: Duration = Duration::from_secs(5);

/// The delay before attempt `attempt + 1` (attempt 0 failed first) of the
/// retry policy: [`equal_jitter`] from 250 ms up to [`MAX_DELAY`]. `random` is any u64.
pub fn delay(attempt: u32, random: u64) -> Duration {
    equal_jitter(BASE_DELAY, MAX_DELAY, attempt, random)
}

/// The exponential step before attempt `attempt + 1`: `first`, doubled per
/// attempt, at most `cap`.
pub fn step(first: Duration, cap: Duration, attempt: u32) -> Duration {
    first
        .saturating_mul(1u32.checked_shl(attempt.min(16)).unwrap_or(u32::MAX))
        .min(cap)
}

/// Half of the exponential [`step`] fixed, half random ("equal jitter"), so
/// that invocations that failed together do not come back together.
pub fn equal_jitter(first: Duration, cap: Duration, attempt: u32, random: u64) -> Duration {
    let half = step(first, cap, attempt) / 2;
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
    fn delays_grow_are_capped_and_jittered() {
        assert_eq!(delay(0, 0), Duration::from_millis(125));
        assert_eq!(delay(0, 125), Duration::from_millis(250));
        assert_eq!(delay(1, 0), Duration::from_millis(250));
        assert_eq!(delay(10, 0), Duration::from_millis(2500));
        assert!(delay(40, u64::MAX) <= MAX_DELAY);
        let spread: std::collections::BTreeSet<Duration> = (0..50).map(|_| delay(3, random())).collect();
        assert!(spread.len() > 10, "jitter spreads the retries: {spread:?}");
    }

    #[test]
    fn steps_double_up_to_the_cap() {
        let (first, cap) = (Duration::from_millis(500), Duration::from_secs(8));
        let steps: Vec<u128> = (0..6).map(|a| step(first, cap, a).as_millis()).collect();
        assert_eq!(steps, [500, 1000, 2000, 4000, 8000, 8000]);
        assert_eq!(step(first, cap, u32::MAX), cap);
    }
}
