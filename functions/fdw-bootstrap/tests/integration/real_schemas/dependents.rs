//! A user's view on a foreign table: when the remote columns change (or the
//! link is deleted) the link refuses before changing anything, naming the view;
//! once the view is gone the same request succeeds.

use super::fixture::{Fixture, LAMBDA_TIMEOUT};
use super::harness::{self, unique, Stack};

#[tokio::test]
async fn a_view_on_a_foreign_table_is_named_never_dropped() {
    let stack = Stack::get();
    let _turn = stack.shared().await;
    let bootstrap = stack.bootstrap().await;
    let fixture = Fixture::create(stack, "deps", 1).await;
    let fdw_user = unique("fdw_deps");
    let secret = stack.fdw_secret(&fdw_user, "deps-pw-1").await;
    let (server, local) = (unique("deps_link"), unique("deps_remote"));
    let props = fixture.properties(stack, &server, &local, &secret);
    let created = stack
        .invoke(
            &bootstrap,
            stack.event("Create", &unique("deps-create"), None, &props),
            LAMBDA_TIMEOUT,
        )
        .await;
    created.assert_success();
    let id = created.answer.physical_resource_id.clone();

    let a = stack.clusters.superuser('a', "users").await;
    let view = unique("big_orders");
    a.batch_execute(&format!(
        "CREATE VIEW public.{view} AS SELECT id, total FROM \"{local}\".\"Orders\" WHERE total > 1000"
    ))
    .await
    .unwrap();
    let b = stack.clusters.superuser('b', "orders").await;
    b.batch_execute(&format!(
        "ALTER TABLE \"{}\".\"Orders\" ADD COLUMN note text",
        fixture.schema
    ))
    .await
    .unwrap();

    let update = stack
        .invoke(
            &bootstrap,
            stack.event("Update", &unique("deps-update"), Some(&id), &props),
            LAMBDA_TIMEOUT,
        )
        .await;
    update.assert_failed_with(&[
        &format!("foreign table {local}.Orders must be dropped"),
        &format!("public.{view}"),
        "its remote columns changed",
    ]);
    println!("Update under a dependent view → {}", update.reason());
    let delete = stack
        .invoke(
            &bootstrap,
            stack.event("Delete", &unique("deps-delete"), Some(&id), &props),
            LAMBDA_TIMEOUT,
        )
        .await;
    delete.assert_failed_with(&[&format!("public.{view}"), "the link is being removed"]);
    // Nothing was changed: the view and its foreign table are still there.
    let n: i64 = a
        .query_one(
            "SELECT count(*) FROM pg_views WHERE schemaname = 'public' AND viewname = $1",
            &[&view],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1);

    a.batch_execute(&format!("DROP VIEW public.{view}")).await.unwrap();
    stack
        .invoke(
            &bootstrap,
            stack.event("Update", &unique("deps-update2"), Some(&id), &props),
            LAMBDA_TIMEOUT,
        )
        .await
        .assert_success();
    let cols: i64 = a
        .query_one(
            &format!("SELECT count(*) FROM pg_attribute WHERE attrelid = '\"{local}\".\"Orders\"'::regclass AND attname = 'note'"),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(cols, 1, "the new remote column is on A after the Update");
    stack
        .invoke(
            &bootstrap,
            stack.event("Delete", &unique("deps-delete2"), Some(&id), &props),
            LAMBDA_TIMEOUT,
        )
        .await
        .assert_success();
    harness::assert_link_gone(stack, &server, &local, &fdw_user).await;
    fixture.drop(stack).await;
}
