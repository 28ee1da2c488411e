//! The query advice on cluster A (`fdw_bridge.advise`): installed by Create,
//! granted to the mapped roles as Update changes them, gone after the last
//! Delete; what it says about each shape a user writes, and that its rewrite
//! answers the same; it never runs a query unless asked to measure, and then
//! with the caller's privileges.

use fdw_bridge_testkit as harness;

use harness::{unique, OwnDatabase, Stack};
use serde_json::{json, Value};
use std::time::Duration;
use tokio_postgres::Client;

const LAMBDA_TIMEOUT: Duration = Duration::from_secs(60);
const ADVISE: &str = "fdw_bridge.advise(text,boolean,bigint)";

/// One row of the advice.
#[derive(Debug)]
struct Advice {
    scan: Option<String>,
    pattern: String,
    cause: String,
    rewrite: Option<String>,
}

async fn advise(client: &Client, query: &str, measure: bool) -> Result<Vec<Advice>, tokio_postgres::Error> {
    Ok(client
        .query(
            "SELECT scan, pattern, cause, rewrite FROM fdw_bridge.advise($1, $2)",
            &[&query, &measure],
        )
        .await?
        .iter()
        .map(|r| Advice {
            scan: r.get(0),
            pattern: r.get(1),
            cause: r.get(2),
            rewrite: r.get(3),
        })
        .collect())
}

/// Every row of a query, in its order, as one JSON text.
async fn answer(client: &Client, query: &str) -> String {
    client
        .query_one(
            &format!("SELECT coalesce(json_agg(x), '[]')::text FROM ({query}) x"),
            &[],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}: {query}"))
        .get(0)
}

async fn can_execute(a: &Client, role: &str) -> bool {
    a.query_one(
        "SELECT to_regprocedure($2) IS NOT NULL AND has_function_privilege($1, $2, 'EXECUTE')",
        &[&role, &ADVISE],
    )
    .await
    .unwrap()
    .get(0)
}

/// Create installs it, Update grants it to the roles it maps and takes it from
/// a role it no longer maps, the same properties again change nothing, and the
/// Delete of the database's last link removes it with the registry.
#[tokio::test]
async fn the_link_installs_grants_and_removes_the_advice() {
    let stack = Stack::get();
    let _turn = stack.shared().await;
    let bootstrap = stack.bootstrap().await;
    // A database of its own: its registry holds this test's link only.
    let db = OwnDatabase::new(stack, "advice_db", "users_admin").await;
    let su = db.superuser(stack).await;
    let analyst = unique("analyst");
    su.batch_execute(&format!(
        "CREATE EXTENSION postgres_fdw;
         GRANT USAGE ON FOREIGN DATA WRAPPER postgres_fdw TO users_admin WITH GRANT OPTION;
         CREATE ROLE {analyst}"
    ))
    .await
    .unwrap();
    let dbname = db.name.clone();
    let link = stack
        .create_link_with("advice", |p: &mut Value| {
            p["LocalCluster"]["Database"] = Value::from(dbname.clone())
        })
        .await;
    let comment: String = su
        .query_one("SELECT obj_description(to_regprocedure($1), 'pg_proc')", &[&ADVISE])
        .await
        .unwrap()
        .get(0);
    assert!(
        comment.starts_with("managed by fdw-bridge: why a cross-database query is slow"),
        "{comment}"
    );
    assert!(can_execute(&su, "report_reader").await);
    assert!(!can_execute(&su, &analyst).await, "a role without a mapping");
    let public: bool = su
        .query_one("SELECT has_function_privilege('public', $1, 'EXECUTE')", &[&ADVISE])
        .await
        .unwrap()
        .get(0);
    assert!(!public, "PUBLIC must not hold EXECUTE");

    // LocalRoles gains the analyst: mapped, and granted the advice.
    let mut wider = link.properties.clone();
    wider["LocalRoles"] = json!(["report_reader", analyst]);
    let update = |props: Value, tag: &str| {
        let event = stack.event("Update", &unique(tag), Some(&link.physical_id), &props);
        stack.invoke(&bootstrap, event, LAMBDA_TIMEOUT)
    };
    update(wider.clone(), "advice-wider").await.assert_success();
    assert!(can_execute(&su, &analyst).await);
    let same = update(wider, "advice-same").await;
    same.assert_success();
    assert_eq!(same.data("StatementsApplied"), "0", "{}", same.reason());
    // And loses it with its mapping.
    update(link.properties.clone(), "advice-narrower")
        .await
        .assert_success();
    assert!(!can_execute(&su, &analyst).await);
    assert!(can_execute(&su, "report_reader").await);

    stack.delete_link(&link).await;
    let left: (bool, bool) = su
        .query_one(
            "SELECT to_regprocedure($1) IS NOT NULL, EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'fdw_bridge')",
            &[&ADVISE],
        )
        .await
        .map(|r| (r.get(0), r.get(1)))
        .unwrap();
    assert_eq!(left, (false, false), "the advice and its schema go with the last link");
    su.batch_execute(&format!("DROP ROLE {analyst}")).await.unwrap();
    drop(su);
    db.drop(stack).await;
}

/// A shape as a user writes it against `{r}` (the link's foreign tables), the
/// patterns the advice names for its scans (sorted, comma-separated), and how
/// many whole-query rewrites it gives.
struct Shape {
    name: &'static str,
    sql: &'static str,
    pattern: &'static str,
    /// How many of its rows give a whole query (each then checked for the shape's rows).
    rewrites: usize,
}

const SHAPES: &[Shape] = &[
    Shape {
        name: "now() window",
        sql: "SELECT u.country, count(*) AS orders, sum(o.total_cents) AS revenue FROM public.users u JOIN {r}.orders o ON o.user_id = u.id WHERE o.created_at >= date_trunc('day', now()) - interval '120 days' GROUP BY 1 ORDER BY 1",
        pattern: "initplan",
        rewrites: 1,
    },
    Shape {
        name: "whole-history aggregate over a local join",
        sql: "SELECT u.country, count(*) AS orders, sum(o.total_cents) AS revenue_cents FROM public.users u JOIN {r}.orders o ON o.user_id = u.id GROUP BY u.country ORDER BY u.country",
        pattern: "aggregate_remotely",
        rewrites: 1,
    },
    Shape {
        name: "top-N spenders",
        sql: "SELECT u.id, u.email, sum(o.total_cents) AS spend_cents FROM public.users u JOIN {r}.orders o ON o.user_id = u.id GROUP BY u.id, u.email ORDER BY spend_cents DESC, u.id LIMIT 10",
        pattern: "aggregate_remotely",
        rewrites: 1,
    },
    Shape {
        name: "NOT EXISTS",
        sql: "SELECT count(*) AS users_without_orders FROM public.users u WHERE NOT EXISTS (SELECT 1 FROM {r}.orders o WHERE o.user_id = u.id)",
        pattern: "remote_keys",
        rewrites: 1,
    },
    // Its filter ships: the anti-join's keys would save little (the bench measured the rewrite slower).
    Shape {
        name: "NOT EXISTS with a remote filter",
        sql: "SELECT u.id FROM public.users u WHERE u.segment = 'enterprise' AND NOT EXISTS (SELECT 1 FROM {r}.orders o WHERE o.user_id = u.id AND o.status = 'paid') ORDER BY u.id",
        pattern: "none",
        rewrites: 0,
    },
    Shape {
        name: "NOT EXISTS with a local filter",
        sql: "SELECT u.id FROM public.users u WHERE u.segment = 'enterprise' AND NOT EXISTS (SELECT 1 FROM {r}.orders o WHERE o.user_id = u.id) ORDER BY u.id",
        pattern: "remote_keys",
        rewrites: 1,
    },
    Shape {
        name: "NOT IN without GROUP BY",
        sql: "SELECT count(*) AS n FROM public.users u WHERE u.id NOT IN (SELECT o.user_id FROM {r}.orders o)",
        pattern: "remote_keys",
        rewrites: 1,
    },
    Shape {
        name: "local filter, then a remote join",
        sql: "SELECT u.id, count(*) AS orders, sum(o.total_cents) AS spend FROM public.users u JOIN {r}.orders o ON o.user_id = u.id WHERE u.segment = 'enterprise' AND u.country = 'DE' GROUP BY u.id ORDER BY u.id",
        pattern: "array_of_local_ids",
        rewrites: 1,
    },
    Shape {
        name: "three-way join, local filter first",
        sql: "SELECT u.id, count(DISTINCT o.id) AS orders, sum(i.quantity) AS items FROM public.users u JOIN {r}.orders o ON o.user_id = u.id JOIN {r}.order_items i ON i.order_id = o.id WHERE u.segment = 'enterprise' AND u.country = 'DE' GROUP BY u.id ORDER BY u.id",
        pattern: "array_of_local_ids,remote_join",
        rewrites: 2,
    },
    Shape {
        name: "top-N latest orders",
        sql: "SELECT o.id, o.user_id, o.total_cents, o.created_at FROM {r}.orders o ORDER BY o.created_at DESC, o.id LIMIT 20",
        pattern: "none",
        rewrites: 0,
    },
    Shape {
        name: "point lookup",
        sql: "SELECT o.id, o.status, o.total_cents FROM public.users u JOIN {r}.orders o ON o.user_id = u.id WHERE u.id = 42 ORDER BY o.id",
        pattern: "none",
        rewrites: 0,
    },
    Shape {
        name: "remote GROUP BY",
        sql: "SELECT o.status, count(*) AS n FROM {r}.orders o GROUP BY o.status ORDER BY o.status",
        pattern: "none",
        rewrites: 0,
    },
    Shape {
        name: "explicit collation",
        sql: "SELECT count(*) AS n FROM {r}.orders o WHERE o.currency COLLATE \"C\" > 'E'",
        pattern: "shippable_expression",
        rewrites: 0,
    },
];

/// For each shape: the pattern named (the scans' patterns, sorted and
/// distinct), and each whole-query rewrite answers what the shape answers.
#[tokio::test]
async fn the_advice_names_each_shapes_pattern_and_its_rewrite_answers_the_same() {
    let stack = Stack::get();
    let _turn = stack.shared().await;
    let link = stack.create_link("advice_shapes").await;
    let reader = stack.clusters.report_reader().await;
    let r = fdw_bridge::pg::ident(&link.local_schema);
    for shape in SHAPES {
        let sql = shape.sql.replace("{r}", &r);
        let advice = advise(&reader, &sql, false)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", shape.name));
        let mut patterns: Vec<&str> = advice.iter().map(|a| a.pattern.as_str()).collect();
        patterns.sort_unstable();
        patterns.dedup();
        assert_eq!(patterns.join(","), shape.pattern, "{}: {advice:#?}", shape.name);
        if shape.pattern == "none" {
            assert!(
                advice.iter().all(|a| a.cause.starts_with("nothing to change")),
                "{advice:#?}"
            );
            continue;
        }
        let whole: Vec<&String> = advice
            .iter()
            .filter_map(|a| a.rewrite.as_ref())
            .filter(|w| w.starts_with("SELECT"))
            .collect();
        assert_eq!(whole.len(), shape.rewrites, "{}: {advice:#?}", shape.name);
        let expected = answer(&reader, &sql).await;
        for fixed in advice
            .iter()
            .filter(|a| a.rewrite.as_ref().is_some_and(|w| whole.contains(&w)))
        {
            let rewrite = fixed.rewrite.as_deref().unwrap_or_default();
            assert_eq!(answer(&reader, rewrite).await, expected, "{}: {rewrite}", shape.name);
            // The rewrite is not advised the same way again: its scan is fixed.
            let again = advise(&reader, rewrite, false).await.unwrap();
            assert!(
                again.iter().all(|a| a.pattern != fixed.pattern || a.scan != fixed.scan),
                "{}: the rewrite is still advised the same way: {again:#?}",
                shape.name
            );
        }
    }
    // Measured: the same advice from EXPLAIN ANALYZE, with the rows that crossed.
    let measured = advise(&reader, &SHAPES[0].sql.replace("{r}", &r), true).await.unwrap();
    assert_eq!(measured[0].pattern, "initplan", "{measured:#?}");
    let crosses: String = reader
        .query_one(
            "SELECT crosses FROM fdw_bridge.advise($1, true)",
            &[&SHAPES[0].sql.replace("{r}", &r)],
        )
        .await
        .unwrap()
        .get(0);
    assert!(crosses.contains("(measured)"), "{crosses}");
    stack.delete_link(&link).await;
}

/// A foreign table never ANALYZEd is named with its ANALYZE; once analyzed, the
/// same lookup has nothing to change.
#[tokio::test]
async fn a_missing_statistic_is_named_with_its_analyze() {
    let stack = Stack::get();
    let _turn = stack.shared().await;
    let link = stack.create_link("advice_stats").await;
    let a = stack.clusters.superuser('a', "users").await;
    let bare = unique("bare_remote");
    // Made by hand on the link's server, as a user might, and never analyzed.
    a.batch_execute(&format!(
        "CREATE SCHEMA {bare} AUTHORIZATION users_admin; GRANT USAGE ON SCHEMA {bare} TO report_reader;
         CREATE FOREIGN TABLE {bare}.orders (id bigint) SERVER {} OPTIONS (schema_name 'public', table_name 'orders');
         ALTER FOREIGN TABLE {bare}.orders OWNER TO users_admin;
         GRANT SELECT ON {bare}.orders TO report_reader",
        fdw_bridge::pg::ident(&link.server)
    ))
    .await
    .unwrap();
    let reader = stack.clusters.report_reader().await;
    let lookup = format!("SELECT o.id FROM {bare}.orders o WHERE o.id = 7");
    let advice = advise(&reader, &lookup, false).await.unwrap();
    assert_eq!(advice[0].pattern, "analyze", "{advice:#?}");
    assert_eq!(
        advice[0].rewrite.as_deref().and_then(|r| r.split(';').next()),
        Some(format!("ANALYZE {bare}.orders").as_str())
    );
    // As its owner, through the admin's user mapping.
    a.batch_execute(&format!("SET ROLE users_admin; ANALYZE {bare}.orders; RESET ROLE"))
        .await
        .unwrap();
    let advice = advise(&reader, &lookup, false).await.unwrap();
    assert_eq!(advice[0].pattern, "none", "{advice:#?}");
    a.batch_execute(&format!("DROP SCHEMA {bare} CASCADE")).await.unwrap();
    stack.delete_link(&link).await;
}

/// Hostile text is planned, never run: a DELETE stays unrun, two statements
/// are refused; measure runs the query as the caller (refused without the
/// caller's privilege) and rolls back what it wrote; a role without a mapping
/// may not call the advice at all.
#[tokio::test]
async fn the_advice_runs_nothing_unless_asked_and_only_as_the_caller() {
    let stack = Stack::get();
    let _turn = stack.shared().await;
    let link = stack.create_link("advice_hostile").await;
    let a = stack.clusters.superuser('a', "users").await;
    let victim = unique("advice_victim");
    let outsider = unique("advice_outsider");
    a.batch_execute(&format!(
        "CREATE TABLE public.{victim} (x int); INSERT INTO public.{victim} VALUES (1), (2);
         GRANT SELECT, DELETE ON public.{victim} TO report_reader;
         CREATE ROLE {outsider} LOGIN PASSWORD 'outsider-pw'"
    ))
    .await
    .unwrap();
    let reader = stack.clusters.report_reader().await;
    let count = || async {
        let n: i64 = a
            .query_one(&format!("SELECT count(*) FROM public.{victim}"), &[])
            .await
            .unwrap()
            .get(0);
        n
    };

    advise(&reader, &format!("DELETE FROM public.{victim}"), false)
        .await
        .unwrap();
    assert_eq!(count().await, 2, "advice without measure ran the DELETE");
    let several = advise(&reader, &format!("SELECT 1; DROP TABLE public.{victim}"), false)
        .await
        .unwrap_err();
    assert!(
        several
            .as_db_error()
            .is_some_and(|e| e.message().starts_with("fdw_bridge.advise takes one statement")),
        "{several:?}"
    );
    assert_eq!(count().await, 2);
    // Measured: run, as the reader, and rolled back.
    advise(&reader, &format!("DELETE FROM public.{victim}"), true)
        .await
        .unwrap();
    assert_eq!(count().await, 2, "the measured DELETE was not rolled back");
    // Without DELETE the reader's measured DELETE is refused: measure lends it no one's rights.
    a.batch_execute(&format!("REVOKE DELETE ON public.{victim} FROM report_reader"))
        .await
        .unwrap();
    let denied = advise(&reader, &format!("DELETE FROM public.{victim}"), true)
        .await
        .unwrap_err();
    assert!(
        denied
            .as_db_error()
            .is_some_and(|e| e.message().starts_with("permission denied for table")),
        "{denied:?}"
    );

    // No mapping, no advice; and were it granted, EXPLAIN still needs the caller's SELECT.
    let out = stack.clusters.login('a', "users", &outsider, "outsider-pw").await;
    let refused = advise(&out, "SELECT 1", false).await.unwrap_err();
    assert!(
        refused
            .as_db_error()
            .is_some_and(|e| e.message().starts_with("permission denied for")),
        "{refused:?}"
    );
    a.batch_execute(&format!(
        "GRANT USAGE ON SCHEMA fdw_bridge TO {outsider};
         GRANT EXECUTE ON FUNCTION fdw_bridge.advise(text, boolean, bigint), fdw_bridge.advise_plan(jsonb, text, boolean, bigint),
               fdw_bridge.advise_wrap_clock(text), fdw_bridge.advise_close(text, integer) TO {outsider}"
    ))
    .await
    .unwrap();
    let orders = format!(
        "SELECT count(*) FROM {}.orders",
        fdw_bridge::pg::ident(&link.local_schema)
    );
    let refused = advise(&out, &orders, true).await.unwrap_err();
    assert!(
        refused
            .as_db_error()
            .is_some_and(|e| e.message().starts_with("permission denied for")),
        "{refused:?}"
    );
    drop(out);
    a.batch_execute(&format!(
        "DROP TABLE public.{victim}; REVOKE ALL ON SCHEMA fdw_bridge FROM {outsider};
         REVOKE ALL ON ALL FUNCTIONS IN SCHEMA fdw_bridge FROM {outsider}; DROP ROLE {outsider}"
    ))
    .await
    .unwrap();
    stack.delete_link(&link).await;
}
