//! Every object carrying the link's marker is reconciled: an old LocalSchema
//! after a rename, tables dropped from IncludeTables, types no longer used go
//! on Update; Delete leaves nothing of the link, and nothing else is touched.

use super::fixture::{Fixture, LAMBDA_TIMEOUT};
use super::harness::{self, unique, Stack};
use serde_json::json;

/// What the link has on cluster A: the schemas among `schemas` that exist, the
/// types it holds (comment ending in `link=<id>`), the foreign tables of its server.
async fn marked_on_a(stack: &Stack, server: &str, id: &str, schemas: &[&str]) -> Vec<String> {
    let a = stack.clusters.superuser('a', "users").await;
    let schemas: Vec<String> = schemas.iter().map(|s| s.to_string()).collect();
    a.query(
        "SELECT 'schema ' || nspname FROM pg_namespace WHERE nspname = ANY($3)
          UNION ALL SELECT 'type ' || format_type(oid, NULL) FROM pg_type WHERE obj_description(oid, 'pg_type') LIKE '%link=' || $2
          UNION ALL SELECT 'table ' || ft.ftrelid::regclass FROM pg_foreign_table ft JOIN pg_foreign_server s ON s.oid = ft.ftserver WHERE s.srvname = $1
          ORDER BY 1",
        &[&server, &id, &schemas],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect()
}

#[tokio::test]
async fn rename_twice_narrow_widen_delete_leaves_nothing() {
    let stack = Stack::get();
    let _turn = stack.shared().await;
    let bootstrap = stack.bootstrap().await;
    let fixture = Fixture::create(stack, "reconcile", 5).await;
    let fdw_user = unique("fdw_reconcile");
    let secret = stack.fdw_secret(&fdw_user, "reconcile-pw-1").await;
    let server = unique("reconcile_link");
    let schemas = [unique("rec_one"), unique("rec_two"), unique("rec_three")];
    let mut props = fixture.properties(stack, &server, &schemas[0], &secret);
    let a = stack.clusters.superuser('a', "users").await;
    // A bystander on A that the link must not touch.
    let bystander = unique("bystander_schema");
    a.batch_execute(&format!(
        "CREATE SCHEMA {bystander}; CREATE TABLE {bystander}.keep (id int)"
    ))
    .await
    .unwrap();

    let created = stack
        .invoke(
            &bootstrap,
            stack.event("Create", &unique("rec-create"), None, &props),
            LAMBDA_TIMEOUT,
        )
        .await;
    created.assert_success();
    let id = created.answer.physical_resource_id.clone();
    let update = |props: serde_json::Value, tag: &'static str| {
        let id = id.clone();
        let bootstrap = bootstrap.clone();
        async move {
            let got = stack
                .invoke(
                    &bootstrap,
                    stack.event("Update", &unique(tag), Some(&id), &props),
                    LAMBDA_TIMEOUT,
                )
                .await;
            got.assert_success();
        }
    };
    for schema in &schemas[1..] {
        props["ImportSchemas"][0]["LocalSchema"] = json!(schema);
        update(props.clone(), "rec-rename").await;
    }
    let all: Vec<&str> = schemas
        .iter()
        .map(String::as_str)
        .chain([fixture.schema.as_str()])
        .collect();
    let marked = marked_on_a(stack, &server, &id, &all).await;
    let in_schema = |s: &str| marked.iter().filter(|m| m.contains(s)).count();
    assert_eq!(
        in_schema(&schemas[0]) + in_schema(&schemas[1]),
        0,
        "old schemas left: {marked:?}"
    );
    assert_eq!(
        in_schema(&format!("{}.", schemas[2])),
        Fixture::table_count(5),
        "{marked:?}"
    );
    assert!(
        marked.contains(&format!("schema {}", fixture.schema)),
        "the type schema: {marked:?}"
    );

    // Narrow to one view whose columns use only the domain `cents`: the enum and others go.
    props["ImportSchemas"][0]["IncludeTables"] = json!(["paid_orders"]);
    update(props.clone(), "rec-narrow").await;
    let marked = marked_on_a(stack, &server, &id, &all).await;
    let tables: Vec<&String> = marked.iter().filter(|m| m.starts_with("table ")).collect();
    assert_eq!(tables.len(), 1, "{marked:?}");
    let types: Vec<&String> = marked.iter().filter(|m| m.starts_with("type ")).collect();
    assert_eq!(types, [&format!("type {}.cents", fixture.schema)], "{marked:?}");

    // Widen again: everything is back, with its types.
    props["ImportSchemas"][0]
        .as_object_mut()
        .unwrap()
        .remove("IncludeTables");
    update(props.clone(), "rec-widen").await;
    let marked = marked_on_a(stack, &server, &id, &all).await;
    assert_eq!(
        marked.iter().filter(|m| m.starts_with("table ")).count(),
        Fixture::table_count(5)
    );
    assert!(
        marked.iter().any(|m| m == &format!("type {}.status", fixture.schema)),
        "{marked:?}"
    );

    stack
        .invoke(
            &bootstrap,
            stack.event("Delete", &unique("rec-delete"), Some(&id), &props),
            LAMBDA_TIMEOUT,
        )
        .await
        .assert_success();
    let left = marked_on_a(stack, &server, &id, &all).await;
    assert!(left.is_empty(), "left on A: {left:?}");
    for schema in &schemas {
        harness::assert_link_gone(stack, &server, schema, &fdw_user).await;
    }
    let kept: i64 = a
        .query_one(&format!("SELECT count(*) FROM {bystander}.keep"), &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(kept, 0, "the bystander table is still there (and empty)");
    a.batch_execute(&format!("DROP SCHEMA {bystander} CASCADE"))
        .await
        .unwrap();
    fixture.drop(stack).await;
}

#[tokio::test]
async fn local_schema_public_gets_no_usage_grant_that_would_outlive_the_link() {
    let stack = Stack::get();
    let _turn = stack.shared().await;
    let bootstrap = stack.bootstrap().await;
    let fixture = Fixture::create(stack, "public", 1).await;
    let fdw_user = unique("fdw_public");
    let secret = stack.fdw_secret(&fdw_user, "public-pw-1").await;
    let server = unique("public_link");
    let mut props = fixture.properties(stack, &server, "public", &secret);
    props["ImportSchemas"][0]["IncludeTables"] = json!(["table_0001"]);
    let explicit_usage = || async {
        let a = stack.clusters.superuser('a', "users").await;
        a.query_one(
            "SELECT count(*) FROM pg_namespace n, aclexplode(n.nspacl) x
              WHERE n.nspname = 'public' AND x.grantee = 'report_reader'::regrole AND x.privilege_type = 'USAGE'",
            &[],
        )
        .await
        .unwrap()
        .get::<_, i64>(0)
    };
    assert_eq!(explicit_usage().await, 0);
    let created = stack
        .invoke(
            &bootstrap,
            stack.event("Create", &unique("pub-create"), None, &props),
            LAMBDA_TIMEOUT,
        )
        .await;
    created.assert_success();
    assert_eq!(explicit_usage().await, 0, "USAGE on public comes from PUBLIC already");
    let reader = stack.clusters.report_reader().await;
    reader
        .query_one("SELECT count(*) FROM public.table_0001", &[])
        .await
        .unwrap();
    stack
        .invoke(
            &bootstrap,
            stack.event(
                "Delete",
                &unique("pub-delete"),
                Some(&created.answer.physical_resource_id),
                &props,
            ),
            LAMBDA_TIMEOUT,
        )
        .await
        .assert_success();
    assert_eq!(explicit_usage().await, 0);
    fixture.drop(stack).await;
}

/// A link deployed before the migrations ran (B's schema still empty) makes an
/// empty LocalSchema; renaming it must not leave the empty old one behind, and
/// the refresh must pick up the tables once the migrations made them.
#[tokio::test]
async fn an_empty_local_schema_is_reconciled_too() {
    let stack = Stack::get();
    let _turn = stack.shared().await;
    let bootstrap = stack.bootstrap().await;
    let remote = unique("empty_remote");
    let b = stack.clusters.superuser('b', "orders").await;
    b.batch_execute(&format!("SET ROLE orders_admin; CREATE SCHEMA \"{remote}\""))
        .await
        .unwrap();
    let fdw_user = unique("fdw_empty");
    let secret = stack.fdw_secret(&fdw_user, "empty-pw-1").await;
    let server = unique("empty_link");
    let (first, second) = (unique("empty_one"), unique("empty_two"));
    let mut props = stack.properties(&server, &first, &secret);
    props["ImportSchemas"] = json!([{"RemoteSchema": remote, "LocalSchema": first}]);
    let created = stack
        .invoke(
            &bootstrap,
            stack.event("Create", &unique("empty-create"), None, &props),
            LAMBDA_TIMEOUT,
        )
        .await;
    created.assert_success();
    let id = created.answer.physical_resource_id.clone();
    let schemas_on_a = || async {
        let a = stack.clusters.superuser('a', "users").await;
        a.query(
            "SELECT nspname::text FROM pg_namespace WHERE nspname = ANY($1) ORDER BY 1",
            &[&vec![first.clone(), second.clone()]],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect::<Vec<_>>()
    };
    assert_eq!(schemas_on_a().await, [first.as_str()]);

    props["ImportSchemas"][0]["LocalSchema"] = json!(second);
    stack
        .invoke(
            &bootstrap,
            stack.event("Update", &unique("empty-rename"), Some(&id), &props),
            LAMBDA_TIMEOUT,
        )
        .await
        .assert_success();
    assert_eq!(
        schemas_on_a().await,
        [second.as_str()],
        "the empty old LocalSchema is left behind"
    );

    // The migrations run on B; the next refresh brings their table to A.
    b.batch_execute(&format!(
        "SET ROLE orders_admin; CREATE TABLE \"{remote}\".accounts (id int PRIMARY KEY, name text)"
    ))
    .await
    .unwrap();
    let refreshed = bootstrap
        .handle_invocation(
            json!({"Action": "Refresh", "LocalCluster": props["LocalCluster"], "ServerNames": [server]}),
            tokio::time::Instant::now() + LAMBDA_TIMEOUT,
        )
        .await
        .unwrap();
    assert!(refreshed["Links"][0]["Drift"].as_u64().unwrap() > 0, "{refreshed:#}");
    let reader = stack.clusters.report_reader().await;
    reader
        .query_one(&format!("SELECT count(*) FROM \"{second}\".accounts"), &[])
        .await
        .unwrap();

    stack
        .invoke(
            &bootstrap,
            stack.event("Delete", &unique("empty-delete"), Some(&id), &props),
            LAMBDA_TIMEOUT,
        )
        .await
        .assert_success();
    assert!(schemas_on_a().await.is_empty());
    harness::assert_link_gone(stack, &server, &second, &fdw_user).await;
    b.batch_execute(&format!("DROP SCHEMA \"{remote}\" CASCADE"))
        .await
        .unwrap();
}

/// LocalSchema named like the remote schema: the types the link makes (under
/// the remote schema's name) and the foreign tables share one schema on A;
/// Delete must still leave nothing.
#[tokio::test]
async fn a_local_schema_named_like_the_remote_one_holds_types_and_tables_and_goes_with_the_link() {
    let stack = Stack::get();
    let _turn = stack.shared().await;
    let bootstrap = stack.bootstrap().await;
    let fixture = Fixture::create(stack, "samename", 2).await;
    let fdw_user = unique("fdw_samename");
    let secret = stack.fdw_secret(&fdw_user, "samename-pw-1").await;
    let server = unique("samename_link");
    let props = fixture.properties(stack, &server, &fixture.schema, &secret);
    let created = stack
        .invoke(
            &bootstrap,
            stack.event("Create", &unique("same-create"), None, &props),
            LAMBDA_TIMEOUT,
        )
        .await;
    created.assert_success();
    let id = created.answer.physical_resource_id.clone();
    let reader = stack.clusters.report_reader().await;
    let paid: i64 = reader
        .query_one(
            &format!(
                "SELECT count(*) FROM \"{0}\".\"Orders\" WHERE status = 'paid'",
                fixture.schema
            ),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(paid, super::fixture::ORDERS / 4);
    // An Update with nothing changed changes nothing.
    let again = stack
        .invoke(
            &bootstrap,
            stack.event("Update", &unique("same-update"), Some(&id), &props),
            LAMBDA_TIMEOUT,
        )
        .await;
    again.assert_success();
    assert_eq!(again.data("StatementsApplied"), "0", "{}", again.reason());
    stack
        .invoke(
            &bootstrap,
            stack.event("Delete", &unique("same-delete"), Some(&id), &props),
            LAMBDA_TIMEOUT,
        )
        .await
        .assert_success();
    let left = marked_on_a(stack, &server, &id, &[fixture.schema.as_str()]).await;
    assert!(left.is_empty(), "left on A: {left:?}");
    harness::assert_link_gone(stack, &server, &fixture.schema, &fdw_user).await;
    fixture.drop(stack).await;
}
