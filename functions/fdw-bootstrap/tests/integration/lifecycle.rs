//! Create, query across, Update, replace and Delete an FDW link between the
//! local stack's two clusters, through the real handler.

use fdw_bridge_testkit as harness;

use harness::{unique, Stack};
use serde_json::json;
use std::time::Duration;

const LAMBDA_TIMEOUT: Duration = Duration::from_secs(60);

/// A cross-database question and the same question over co-located tables.
const JOIN: &str = "SELECT u.country, u.segment, count(*)::bigint AS orders, sum(o.total_cents)::bigint AS revenue
                      FROM public.users u JOIN {orders} o ON o.user_id = u.id
                     WHERE o.status = 'paid'
                     GROUP BY 1, 2 ORDER BY 1, 2";

fn rows(rows: &[tokio_postgres::Row]) -> Vec<(String, String, i64, i64)> {
    rows.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect()
}

#[tokio::test]
async fn create_join_update_delete() {
    let stack = Stack::get();
    let _turn = stack.shared().await;
    let bootstrap = stack.bootstrap().await;
    let server = unique("orders_link");
    let schema = unique("orders_remote");
    let fdw_user = unique("fdw_life");
    let secret = stack.fdw_secret(&fdw_user, "life-pw-1'\"\\ é").await;
    let props = stack.properties(&server, &schema, &secret);

    // Things the link did not make, which it must leave alone.
    let a = stack.clusters.superuser('a', "users").await;
    let b = stack.clusters.superuser('b', "orders").await;
    let bystander = unique("bystander");
    a.batch_execute(&format!("CREATE SERVER {bystander} FOREIGN DATA WRAPPER postgres_fdw"))
        .await
        .unwrap();
    b.batch_execute(&format!("CREATE ROLE {bystander}")).await.unwrap();

    let created = stack
        .invoke(
            &bootstrap,
            stack.event("Create", &unique("create"), None, &props),
            LAMBDA_TIMEOUT,
        )
        .await;
    created.assert_success();
    let id = created.answer.physical_resource_id.clone();
    assert_eq!(
        id,
        format!("fdw-link/127.0.0.1:{}/users/{server}", stack.clusters.port('a'))
    );
    assert_eq!(created.data("ServerName"), server);
    // orders and order_items; never internal.payment_tokens.
    assert_eq!(created.data("TableCount"), "2");
    println!("Create of the sample schema: {:?}", created.elapsed);

    // The report role queries across databases; the answer equals the co-located one.
    let reader = stack.clusters.report_reader().await;
    let across = reader
        .query(&JOIN.replace("{orders}", &format!("\"{schema}\".orders")), &[])
        .await
        .unwrap();
    let colocated = stack.clusters.superuser('a', "colocated").await;
    let oracle = colocated
        .query(&JOIN.replace("{orders}", "public.orders"), &[])
        .await
        .unwrap();
    assert!(!oracle.is_empty());
    assert_eq!(rows(&across), rows(&oracle));
    // The FDW role reads only what is exposed.
    let fdw = stack.clusters.login('b', "orders", &fdw_user, "life-pw-1'\"\\ é").await;
    let denied = fdw.query("SELECT * FROM internal.payment_tokens LIMIT 1", &[]).await;
    assert!(denied.is_err(), "the FDW role must not read internal.payment_tokens");
    assert!(fdw.execute("DELETE FROM public.orders WHERE false", &[]).await.is_err());

    // Same properties: nothing to do.
    let same = stack
        .invoke(
            &bootstrap,
            stack.event("Update", &unique("same"), Some(&id), &props),
            LAMBDA_TIMEOUT,
        )
        .await;
    same.assert_success();
    assert_eq!(same.data("StatementsApplied"), "0", "{}", same.reason());
    assert_eq!(same.answer.physical_resource_id, id);

    // One option changed: one ALTER SERVER, and the link's row in fdw_bridge.links.
    let mut changed = props.clone();
    changed["ServerOptions"]["FetchSize"] = json!("5000");
    let log_before = harness::captured_log().len();
    let one = stack
        .invoke(
            &bootstrap,
            stack.event("Update", &unique("one"), Some(&id), &changed),
            LAMBDA_TIMEOUT,
        )
        .await;
    one.assert_success();
    assert_eq!(one.data("StatementsApplied"), "2", "{}", one.reason());
    let log = harness::captured_log()[log_before..].to_string();
    // Other tests run at the same time: keep the lines that name this link.
    let applied: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("applying statement=") && (l.contains(&server) || l.contains(&fdw_user)))
        .collect();
    let (stored, applied): (Vec<&str>, Vec<&str>) = applied
        .into_iter()
        .partition(|l| l.contains("INSERT INTO \"fdw_bridge\".\"links\""));
    assert_eq!((applied.len(), stored.len()), (1, 1), "{applied:?} {stored:?}");
    assert!(
        applied[0].contains(&format!(
            "ALTER SERVER \"{server}\" OPTIONS (SET \"fetch_size\" '5000')"
        )),
        "{}",
        applied[0]
    );
    let options: Vec<String> = a
        .query_one(
            "SELECT srvoptions::text[] FROM pg_foreign_server WHERE srvname = $1",
            &[&server],
        )
        .await
        .unwrap()
        .get(0);
    assert!(options.contains(&"fetch_size=5000".to_string()), "{options:?}");

    // Delete: nothing of the link is left, the bystanders are untouched.
    let deleted = stack
        .invoke(
            &bootstrap,
            stack.event("Delete", &unique("delete"), Some(&id), &changed),
            LAMBDA_TIMEOUT,
        )
        .await;
    deleted.assert_success();
    harness::assert_link_gone(stack, &server, &schema, &fdw_user).await;
    let kept: i64 = a
        .query_one(
            "SELECT count(*) FROM pg_foreign_server WHERE srvname = $1",
            &[&bystander],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(kept, 1);
    let kept: i64 = b
        .query_one("SELECT count(*) FROM pg_roles WHERE rolname = $1", &[&bystander])
        .await
        .unwrap()
        .get(0);
    assert_eq!(kept, 1);
    let users: i64 = a
        .query_one("SELECT count(*) FROM public.users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users.to_string(), stack.var("STACK_USERS"));

    // Deleting again finds nothing and still succeeds.
    let again = stack
        .invoke(
            &bootstrap,
            stack.event("Delete", &unique("again"), Some(&id), &changed),
            LAMBDA_TIMEOUT,
        )
        .await;
    again.assert_success();
    assert!(again.reason().contains("already gone"), "{}", again.reason());

    a.batch_execute(&format!("DROP SERVER {bystander}")).await.unwrap();
    b.batch_execute(&format!("DROP ROLE {bystander}")).await.unwrap();
}

#[tokio::test]
async fn new_server_name_replaces_the_link_and_the_old_delete_keeps_the_new_one_working() {
    let stack = Stack::get();
    let _turn = stack.shared().await;
    let bootstrap = stack.bootstrap().await;
    let (old_server, new_server) = (unique("old_link"), unique("new_link"));
    let (old_schema, new_schema) = (unique("old_remote"), unique("new_remote"));
    let fdw_user = unique("fdw_repl");
    let secret = stack.fdw_secret(&fdw_user, "repl-pw-7").await;
    let old_props = stack.properties(&old_server, &old_schema, &secret);
    let new_props = stack.properties(&new_server, &new_schema, &secret);

    let created = stack
        .invoke(
            &bootstrap,
            stack.event("Create", &unique("r-create"), None, &old_props),
            LAMBDA_TIMEOUT,
        )
        .await;
    created.assert_success();
    let old_id = created.answer.physical_resource_id.clone();

    let mut update = stack.event("Update", &unique("r-update"), Some(&old_id), &new_props);
    update["OldResourceProperties"] = old_props.clone();
    let updated = stack.invoke(&bootstrap, update, LAMBDA_TIMEOUT).await;
    updated.assert_success();
    let new_id = updated.answer.physical_resource_id.clone();
    assert_ne!(new_id, old_id, "a new ServerName is a new identity");

    // CloudFormation's clean-up: Delete of the old identity with the old properties.
    stack
        .invoke(
            &bootstrap,
            stack.event("Delete", &unique("r-delete-old"), Some(&old_id), &old_props),
            LAMBDA_TIMEOUT,
        )
        .await
        .assert_success();
    let a = stack.clusters.superuser('a', "users").await;
    let gone: i64 = a
        .query_one(
            "SELECT count(*) FROM pg_foreign_server WHERE srvname = $1",
            &[&old_server],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(gone, 0);
    // The new link still answers: the shared FDW role was handed over, not dropped.
    let reader = stack.clusters.report_reader().await;
    let n: i64 = reader
        .query_one(&format!("SELECT count(*) FROM \"{new_schema}\".orders"), &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n.to_string(), stack.var("STACK_ORDERS"));

    stack
        .invoke(
            &bootstrap,
            stack.event("Delete", &unique("r-delete-new"), Some(&new_id), &new_props),
            LAMBDA_TIMEOUT,
        )
        .await
        .assert_success();
    harness::assert_link_gone(stack, &new_server, &new_schema, &fdw_user).await;
}

#[tokio::test]
async fn hostile_names_are_quoted_never_executed() {
    let stack = Stack::get();
    let _turn = stack.shared().await;
    let bootstrap = stack.bootstrap().await;
    let fdw_user = unique("fdw_hostile");
    let secret = stack.fdw_secret(&fdw_user, "hostile-pw-3").await;
    let suffix = unique("");
    for (server, schema) in [
        (
            format!("x\"; DROP TABLE users; --{suffix}"),
            format!("it's \"quoted\"{suffix}"),
        ),
        (format!("sérveur_ünïcode_🚀{suffix}"), format!("схема{suffix}")),
    ] {
        let props = stack.properties(&server, &schema, &secret);
        let created = stack
            .invoke(
                &bootstrap,
                stack.event("Create", &unique("h-create"), None, &props),
                LAMBDA_TIMEOUT,
            )
            .await;
        created.assert_success();
        let a = stack.clusters.superuser('a', "users").await;
        let found: i64 = a
            .query_one("SELECT count(*) FROM pg_foreign_server WHERE srvname = $1", &[&server])
            .await
            .unwrap()
            .get(0);
        assert_eq!(found, 1, "the server exists under its exact, quoted name");
        let users: i64 = a
            .query_one("SELECT count(*) FROM public.users", &[])
            .await
            .unwrap()
            .get(0);
        assert!(users > 0, "users is still there");
        let id = created.answer.physical_resource_id.clone();
        stack
            .invoke(
                &bootstrap,
                stack.event("Delete", &unique("h-delete"), Some(&id), &props),
                LAMBDA_TIMEOUT,
            )
            .await
            .assert_success();
        harness::assert_link_gone(stack, &server, &schema, &fdw_user).await;
    }
}

#[tokio::test]
async fn response_is_delivered_through_two_server_errors() {
    let stack = Stack::get();
    let _turn = stack.shared().await;
    let bootstrap = stack.bootstrap().await;
    // The listener answers 500 twice on this path, then 200.
    let path = format!("fail-2/{}", unique("flaky"));
    let event = stack.event("Create", &path, None, &json!({"ServiceToken": "x"}));
    let got = stack.invoke(&bootstrap, event, LAMBDA_TIMEOUT).await;
    got.assert_failed_with(&["missing property LocalCluster"]);
    let log = std::fs::read_to_string(std::path::Path::new(stack.var("RESPONSES_DIR")).join("requests.log")).unwrap();
    let statuses: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(&path))
        .filter_map(|l| l.split_whitespace().find(|w| *w == "500" || *w == "200"))
        .collect();
    assert_eq!(statuses, ["500", "500", "200"], "{log}");
}
