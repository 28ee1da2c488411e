//! What a report says when cluster B itself ran out of slots although the FDW
//! role was within its CONNECTION LIMIT: the link's budget no longer fits B.
//! (Whether to retry is the one policy's call: [`fdw_bridge_runtime::retry`].) Pure.

/// What cluster B says when it has no slot left for an ordinary role, as
/// postgres_fdw reports it on A ("could not connect to server ...").
const REMOTE_FULL: [&str; 2] = [
    "remaining connection slots are reserved",
    "sorry, too many clients already",
];

/// The advice of a report that B refused for lack of free slots.
pub const OVER_BUDGET_ADVICE: &str = "cluster B refused the FDW role for lack of free slots, not by the role's CONNECTION LIMIT: \
     the link's budget is larger than B holds now (B restarted with fewer max_connections?) or B's own sessions took \
     its slots; run fdw-bootstrap's refresh (it re-derives the budget from B) and see README \"Sizing cluster B's connections\"";

/// Whether a failure through postgres_fdw is cluster B out of slots for ordinary
/// roles (rather than the FDW role's own limit, or cluster A refusing).
pub fn remote_cluster_full(message: &str) -> bool {
    message.contains("could not connect to server") && REMOTE_FULL.iter().any(|m| message.contains(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_b_out_of_slots_for_ordinary_roles_is_over_budget() {
        let fdw = "could not connect to server \"orders_link\" (connection to server at \"b\" (10.0.0.2), port 5432 failed: FATAL:  remaining connection slots are reserved for non-replication superuser connections)";
        assert!(remote_cluster_full(fdw));
        assert!(!remote_cluster_full(
            "could not connect to server \"l\" (...): FATAL:  too many connections for role \"fdw_orders\""
        ));
        // Cluster A refusing the report session itself is not B.
        assert!(!remote_cluster_full("FATAL:  sorry, too many clients already"));
    }
}
