//! The pushdown check names the pattern that fixes a flagged query (docs/query-patterns.md:
//! "Writing fast cross-database queries"), from the real plan on the local
//! stack, through cluster A's fdw_bridge.advise_plan (the one source of the
//! advice); and each pattern, written as docs/query-patterns.md shows it, is not flagged.
//! The same patterns on every major the stack runs (15, 16, 17: their plans
//! differ, e.g. 16's Hash Right Anti Join); where a major ships more (17's
//! semi-join between foreign tables of one server), the advice says so.

use crate::common::{function, runner, t, test_report};
use fdw_bridge::report::Catalog;
use fdw_bridge_testkit as harness;

/// The user-written shapes of the bench (as in bench/src/shapes.rs), each with
/// the phrases of the advice it must get, then the same question written the documented way.
const CASES: [(&str, &[&str], &str); 5] = [
    (
        "SELECT o.status, count(*) AS n FROM {{remote}}.orders o
          WHERE o.created_at >= now() - interval '60 days' AND $1::timestamptz < $2::timestamptz
          GROUP BY o.status",
        &["[initplan]", "o.created_at >= (SELECT now() - interval '60 days')"],
        "SELECT o.status, count(*) AS n FROM {{remote}}.orders o
          WHERE o.created_at >= (SELECT now() - interval '60 days') AND $1::timestamptz < $2::timestamptz
          GROUP BY o.status",
    ),
    (
        "SELECT u.id, count(*) AS n FROM public.users u JOIN {{remote}}.orders o ON o.user_id = u.id
          WHERE u.segment = 'enterprise' AND u.signup_at < $1 AND $1::timestamptz < $2::timestamptz GROUP BY u.id",
        &["[array_of_local_ids]", "o.user_id = ANY ((SELECT array_agg(u.id) FROM public.users u WHERE"],
        "SELECT o.user_id, count(*) AS n FROM {{remote}}.orders o
          WHERE o.user_id = ANY ((SELECT array_agg(u.id) FROM public.users u
                                   WHERE u.segment = 'enterprise' AND u.signup_at < $1)::bigint[])
            AND $1::timestamptz < $2::timestamptz GROUP BY o.user_id",
    ),
    (
        "SELECT count(*) AS n FROM public.users u
          WHERE NOT EXISTS (SELECT 1 FROM {{remote}}.orders o WHERE o.user_id = u.id) AND $1::timestamptz < $2::timestamptz",
        // NOT EXISTS over the grouped keys, never NOT IN (unhashed past work_mem).
        &[
            "[remote_keys]",
            "NOT EXISTS (SELECT 1 FROM (SELECT o.user_id FROM",
            "o GROUP BY o.user_id) o WHERE o.user_id = u.id)",
        ],
        "SELECT count(*) AS n FROM public.users u
          WHERE NOT EXISTS (SELECT 1 FROM (SELECT o.user_id FROM {{remote}}.orders o GROUP BY o.user_id) o
                             WHERE o.user_id = u.id) AND $1::timestamptz < $2::timestamptz",
    ),
    // NOT IN without the GROUP BY: a hashed SubPlan under the scan of users, not a join.
    (
        "SELECT count(*) AS n FROM public.users u
          WHERE u.id NOT IN (SELECT o.user_id FROM {{remote}}.orders o) AND $1::timestamptz < $2::timestamptz",
        &["[remote_keys]", "NOT IN (SELECT o.user_id FROM", "o GROUP BY 1)"],
        "SELECT count(*) AS n FROM public.users u
          WHERE u.id NOT IN (SELECT o.user_id FROM {{remote}}.orders o GROUP BY o.user_id) AND $1::timestamptz < $2::timestamptz",
    ),
    (
        "SELECT u.country, sum(o.total_cents) AS revenue FROM public.users u
           JOIN {{remote}}.orders o ON o.user_id = u.id WHERE $1::timestamptz < $2::timestamptz GROUP BY u.country",
        // A whole history: also the covering index.
        &[
            "[aggregate_remotely]",
            "(SELECT o.user_id, count(*) AS n, sum(o.total_cents) AS total_cents FROM",
            "an index on the remote table's key that INCLUDEs the summed columns",
        ],
        "SELECT u.country, sum(p.revenue) AS revenue
           FROM (SELECT user_id, sum(total_cents) AS revenue FROM {{remote}}.orders GROUP BY user_id) p
           JOIN public.users u ON u.id = p.user_id WHERE $1::timestamptz < $2::timestamptz GROUP BY u.country",
    ),
];

#[tokio::test]
async fn a_flagged_query_is_told_which_pattern_fixes_it() {
    let stack = harness::Stack::get();
    let _turn = stack.shared().await;
    let link = stack.create_link("advice").await;
    let f = function(stack, &link.local_schema, Catalog::shipped().unwrap()).await;
    let r = runner(&f).await;
    let at = t("2026-03-04T06:00:00Z");
    for (slow, advice, fast) in CASES {
        let report = test_report(&harness::unique("slow_shape"), "30s", slow);
        let check = r.check(&report, &report.window.before(at)).await.unwrap();
        assert!(check.is_flagged(), "not flagged: {slow}\n{:?}", check.scans);
        for phrase in advice {
            assert!(
                check.flagged.iter().any(|line| line.contains(phrase)),
                "the advice for\n{slow}\nshould contain {phrase:?}: {:?}",
                check.flagged
            );
        }
        let report = test_report(&harness::unique("fast_shape"), "30s", fast);
        let check = r.check(&report, &report.window.before(at)).await.unwrap();
        assert!(
            !check.is_flagged(),
            "the pattern is flagged: {fast}\n{:?}",
            check.flagged
        );
    }
    stack.delete_link(&link).await;
}

/// An EXISTS between two foreign tables of the link's server.
const SEMI_JOIN: &str = "SELECT o.status, count(*) AS n FROM {{remote}}.orders o
  WHERE EXISTS (SELECT 1 FROM {{remote}}.order_items i WHERE i.order_id = o.id AND i.quantity > 2)
    AND $1::timestamptz < $2::timestamptz GROUP BY o.status";

#[tokio::test]
async fn a_semi_join_of_two_remote_tables_is_advised_for_the_major_of_cluster_a() {
    let stack = harness::Stack::get();
    let _turn = stack.shared().await;
    let major: i32 = stack
        .clusters
        .superuser('a', "users")
        .await
        .query_one("SELECT current_setting('server_version_num')::int / 10000", &[])
        .await
        .unwrap()
        .get(0);
    let at = t("2026-03-04T06:00:00Z");
    let report = test_report(&harness::unique("semi_join"), "30s", SEMI_JOIN);

    // The link's defaults (no remote estimates): every major joins the two tables on A.
    let link = stack.create_link("semi").await;
    let f = function(stack, &link.local_schema, Catalog::shipped().unwrap()).await;
    let check = runner(&f)
        .await
        .check(&report, &report.window.before(at))
        .await
        .unwrap();
    assert!(check.is_flagged(), "not flagged on {major}: {:?}", check.scans);
    let line = check.flagged.join("\n");
    assert!(
        line.contains("[remote_join]") && line.contains("join them in a view and let the link import it"),
        "{line}"
    );
    if major >= 17 {
        assert!(
            line.contains("PostgreSQL 17 ships an EXISTS / IN")
                && line.contains("turn on the link's UseRemoteEstimate"),
            "{line}"
        );
    } else {
        assert!(
            line.contains("before PostgreSQL 17 postgres_fdw never ships a semi-join"),
            "{line}"
        );
    }
    stack.delete_link(&link).await;

    // With UseRemoteEstimate, 17 ships the semi-join (and the GROUP BY above it); 15 and 16 cannot.
    let link = stack
        .create_link_with("semi_est", |p| p["ServerOptions"]["UseRemoteEstimate"] = "true".into())
        .await;
    let f = function(stack, &link.local_schema, Catalog::shipped().unwrap()).await;
    let check = runner(&f)
        .await
        .check(&report, &report.window.before(at))
        .await
        .unwrap();
    if major >= 17 {
        assert!(!check.is_flagged(), "{:?}", check.flagged);
        assert!(
            check.remote_sql().iter().any(|sql| sql.contains("WHERE EXISTS (")),
            "{:?}",
            check.remote_sql()
        );
    } else {
        assert!(check.is_flagged(), "not flagged on {major}: {:?}", check.scans);
        assert!(
            check
                .flagged
                .join("\n")
                .contains("before PostgreSQL 17 postgres_fdw never ships a semi-join"),
            "{:?}",
            check.flagged
        );
    }
    stack.delete_link(&link).await;
}
