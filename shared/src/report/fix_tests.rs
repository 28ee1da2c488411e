//! The advice from real plans of each major the stack runs: EXPLAIN (VERBOSE,
//! FORMAT JSON) as the runner asks for it, captured from PostgreSQL 15, 16.11
//! and 17.10 on the local stack by scripts/capture-pushdown-plans.sh (one file
//! per major and shape in pushdown_plans/; 1,000 users, 10,000 orders).

use super::fix::Fix;
use super::pushdown::{check, scans, ForeignScan, PushdownReport, DEFAULT_ROWS_THRESHOLD};
use serde_json::Value;

const MAJORS: [u32; 3] = [15, 16, 17];

fn plan_text(major: u32, shape: &str) -> &'static str {
    macro_rules! plans {
        ($($major:literal: $($shape:literal),+;)+) => {
            match (major, shape) {
                $($(($major, $shape) => include_str!(concat!("pushdown_plans/pg", $major, "/", $shape, ".json")),)+)+
                _ => panic!("no captured plan pg{major}/{shape}"),
            }
        };
    }
    plans! {
        15: "now_window", "local_filter_join", "anti_join", "whole_history", "not_in_subplan", "remote_semi_join", "remote_semi_join_estimated";
        16: "now_window", "local_filter_join", "anti_join", "whole_history", "not_in_subplan", "remote_semi_join", "remote_semi_join_estimated";
        17: "now_window", "local_filter_join", "anti_join", "whole_history", "not_in_subplan", "remote_semi_join", "remote_semi_join_estimated";
    }
}

/// The check as the runner makes it: the scans, with what ANALYZE counted in the
/// foreign tables (the stack's 10,000 orders and 25,000 order lines).
fn checked(major: u32, shape: &str) -> PushdownReport {
    let plan: Value = serde_json::from_str(plan_text(major, shape)).expect("captured plan is JSON");
    let found: Vec<ForeignScan> = scans(&plan)
        .into_iter()
        .map(|mut s| {
            s.table_rows = match s.table.as_ref().map(|(_, t)| t.as_str()) {
                Some("orders") => Some(10000.0),
                Some("order_items") => Some(25000.0),
                _ => None,
            };
            s
        })
        .collect();
    check(found, DEFAULT_ROWS_THRESHOLD, major)
}

/// The one flagged scan of a shape: its relation and fix, and its line.
fn flagged(major: u32, shape: &str) -> (String, Fix, String) {
    let r = checked(major, shape);
    assert_eq!(r.flagged.len(), 1, "pg{major}/{shape}: {:?}", r.flagged);
    let scan = r
        .scans
        .iter()
        .find(|s| s.fetches_whole_table() && s.fetched_rows() > DEFAULT_ROWS_THRESHOLD)
        .expect("the flagged scan");
    (scan.relation.clone(), scan.fix, r.flagged[0].clone())
}

/// not_in_subplan: 15 and 16 print the SubPlan's test as `NOT (hashed SubPlan 1)`, 17 as
/// `NOT (ANY (u.id = (hashed SubPlan 1).col1))`; the scan's "Parent Relationship" is the same.
#[test]
fn each_shape_gets_the_same_pattern_on_every_major() {
    let expected = [
        ("now_window", Fix::InitPlanBound, "(SELECT now() - interval"),
        (
            "local_filter_join",
            Fix::ArrayOfLocalIds,
            "= ANY ((SELECT array_agg(id)",
        ),
        (
            "anti_join",
            Fix::RemoteKeys,
            "NOT IN (SELECT user_id FROM remote GROUP BY user_id)",
        ),
        (
            "not_in_subplan",
            Fix::RemoteKeys,
            "NOT IN (SELECT user_id FROM remote GROUP BY user_id)",
        ),
        (
            "whole_history",
            Fix::AggregateRemotely,
            "GROUP BY the join key in a subquery",
        ),
    ];
    for major in MAJORS {
        for (shape, fix, phrase) in expected {
            let (relation, found, line) = flagged(major, shape);
            assert_eq!(relation, "capture_remote.orders", "pg{major}/{shape}");
            assert_eq!(found, fix, "pg{major}/{shape}: {line}");
            assert!(line.contains(phrase), "pg{major}/{shape}: {line}");
        }
    }
}

#[test]
fn the_anti_join_is_found_whichever_side_postgresql_hashes() {
    // 15 hashes the foreign rows under an "Anti" join; 16 and 17 hash the smaller
    // local side under a "Right Anti" join, the foreign scan its outer side.
    for (major, join_type) in [(15, "\"Anti\""), (16, "\"Right Anti\""), (17, "\"Right Anti\"")] {
        let text = plan_text(major, "anti_join");
        assert!(text.contains(&format!("\"Join Type\": {join_type}")), "pg{major}");
        assert_eq!(flagged(major, "anti_join").1, Fix::RemoteKeys, "pg{major}");
    }
}

#[test]
fn a_semi_join_of_two_foreign_tables_is_advised_for_the_major_that_plans_it() {
    // Without remote estimates every major joins orders and order_items locally.
    for major in MAJORS {
        let (relation, fix, line) = flagged(major, "remote_semi_join");
        assert_eq!(relation, "capture_remote.orders", "pg{major}");
        assert_eq!(fix, Fix::RemoteSemiJoin, "pg{major}: {line}");
        assert!(
            line.contains("in a view on the remote cluster and import the view"),
            "pg{major}: {line}"
        );
        let before_17 = line.contains("before PostgreSQL 17 postgres_fdw never ships a semi-join");
        let turn_on = line.contains("turn on the link's UseRemoteEstimate");
        assert_eq!((before_17, turn_on), (major < 17, major >= 17), "pg{major}: {line}");
    }
    // With them, 17 ships the semi-join (one scan, nothing flagged); 15 and 16 cannot.
    for major in [15, 16] {
        assert_eq!(
            flagged(major, "remote_semi_join_estimated").1,
            Fix::RemoteSemiJoin,
            "pg{major}"
        );
    }
    let shipped = checked(17, "remote_semi_join_estimated");
    assert!(!shipped.is_flagged(), "{:?}", shipped.flagged);
    assert_eq!(shipped.scans.len(), 1);
    assert!(
        shipped.scans[0].relation.contains("SEMI JOIN"),
        "{:?}",
        shipped.scans[0]
    );
    assert!(
        shipped.scans[0].remote_sql.contains("WHERE EXISTS ("),
        "{:?}",
        shipped.scans[0]
    );
}
