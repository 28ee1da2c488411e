//! The pushdown check names the pattern that fixes a flagged query (README:
//! "Writing fast cross-database queries"), from the real plan on the local
//! stack; and each pattern, written as the README shows it, is not flagged.

use crate::common::{function, runner, t, test_report};
use fdw_bridge::report::Catalog;
use fdw_bridge_testkit as harness;

/// The user-written shapes of the bench (as in bench/src/shapes.rs), each with
/// the phrases of the advice it must get, then the same question written the documented way.
const CASES: [(&str, &[&str], &str); 4] = [
    (
        "SELECT o.status, count(*) AS n FROM {{remote}}.orders o
          WHERE o.created_at >= now() - interval '60 days' AND $1::timestamptz < $2::timestamptz
          GROUP BY o.status",
        &["(SELECT now() - interval"],
        "SELECT o.status, count(*) AS n FROM {{remote}}.orders o
          WHERE o.created_at >= (SELECT now() - interval '60 days') AND $1::timestamptz < $2::timestamptz
          GROUP BY o.status",
    ),
    (
        "SELECT u.id, count(*) AS n FROM public.users u JOIN {{remote}}.orders o ON o.user_id = u.id
          WHERE u.segment = 'enterprise' AND u.signup_at < $1 AND $1::timestamptz < $2::timestamptz GROUP BY u.id",
        &["= ANY ((SELECT array_agg(id)"],
        "SELECT o.user_id, count(*) AS n FROM {{remote}}.orders o
          WHERE o.user_id = ANY ((SELECT array_agg(u.id) FROM public.users u
                                   WHERE u.segment = 'enterprise' AND u.signup_at < $1)::bigint[])
            AND $1::timestamptz < $2::timestamptz GROUP BY o.user_id",
    ),
    (
        "SELECT count(*) AS n FROM public.users u
          WHERE NOT EXISTS (SELECT 1 FROM {{remote}}.orders o WHERE o.user_id = u.id) AND $1::timestamptz < $2::timestamptz",
        &["NOT IN (SELECT user_id FROM remote GROUP BY user_id)"],
        "SELECT count(*) AS n FROM public.users u
          WHERE u.id NOT IN (SELECT o.user_id FROM {{remote}}.orders o GROUP BY o.user_id) AND $1::timestamptz < $2::timestamptz",
    ),
    (
        "SELECT u.country, sum(o.total_cents) AS revenue FROM public.users u
           JOIN {{remote}}.orders o ON o.user_id = u.id WHERE $1::timestamptz < $2::timestamptz GROUP BY u.country",
        // A whole history: also the covering index, or the remote view over a function with its own work_mem.
        &[
            "GROUP BY the join key in a subquery",
            "index on the join key that INCLUDEs the aggregated columns",
            "SET work_mem` behind a view on the remote cluster",
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
