//! What a report says when its remote cluster (B, or C of a second link)
//! itself ran out of slots although the FDW role was within its CONNECTION
//! LIMIT: the link's budget no longer fits that cluster. postgres_fdw names the
//! foreign server it could not connect to, so a report that joins two links
//! says which. (Whether to retry is the one policy's call: [`fdw_bridge_runtime::retry`].) Pure.

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

/// The foreign server postgres_fdw could not connect to, as its message names it.
pub fn refused_server(message: &str) -> Option<&str> {
    const AT: &str = "could not connect to server \"";
    let from = message.find(AT)? + AT.len();
    let len = message[from..].find('"')?;
    Some(&message[from..from + len])
}

/// [`OVER_BUDGET_ADVICE`] for a report that reads through more than one link:
/// which link's remote cluster refused (its foreign server, from the message,
/// and `link_of_server`'s description of it).
pub fn over_budget_advice(message: &str, link_of_server: impl Fn(&str) -> Option<String>) -> String {
    match refused_server(message) {
        Some(server) => {
            let link = link_of_server(server).map_or_else(String::new, |l| format!(" of {l}"));
            format!(
                "the remote cluster of foreign server \"{server}\"{link} refused the FDW role for lack of free slots, \
                 not by the role's CONNECTION LIMIT: that link's budget is larger than its cluster holds now (it restarted \
                 with fewer max_connections?) or the cluster's own sessions took its slots; run fdw-bootstrap's refresh \
                 (it re-derives each link's budget from its cluster) and see docs/sizing.md \"When B changes after Create\""
            )
        }
        None => OVER_BUDGET_ADVICE.to_string(),
    }
}

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

    #[test]
    fn the_advice_names_the_server_that_refused_and_its_link() {
        let c = "could not connect to server \"payments_link\" (connection to server at \"c\" (10.0.0.3), port 5432 failed: FATAL:  sorry, too many clients already)";
        assert_eq!(refused_server(c), Some("payments_link"));
        let advice = over_budget_advice(c, |s| (s == "payments_link").then(|| "link payments".to_string()));
        assert!(
            advice.starts_with("the remote cluster of foreign server \"payments_link\" of link payments refused"),
            "{advice}"
        );
        assert!(over_budget_advice(c, |_| None)
            .starts_with("the remote cluster of foreign server \"payments_link\" refused"));
        assert_eq!(over_budget_advice("FATAL: x", |_| None), OVER_BUDGET_ADVICE);
        assert_eq!(refused_server("could not connect to server \"cut"), None);
    }
}
