//! Names no other test uses: the tests of a binary run in parallel, and the
//! binaries one after another, against one stack that keeps what they made.

use crate::stack::Stack;
use std::sync::atomic::Ordering;

/// `prefix` with this process's id and a counter of the binary.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}_{}",
        std::process::id() % 100_000,
        Stack::get().names_made.fetch_add(1, Ordering::Relaxed)
    )
}
