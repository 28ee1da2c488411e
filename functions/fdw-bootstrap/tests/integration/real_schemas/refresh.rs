//! Refresh without a property change (issue 10, item 7): the link stores its
//! desired state on cluster A (`fdw_bridge.links`), and a refresh event
//! converges every stored link again: a column, a table and an enum label
//! added on B, and a table that grew, reach A without any CloudFormation
//! request; a dry run reports the same drift and changes nothing; a refresh
//! with nothing to do applies nothing; credentials stay as rotation left them;
//! a stored link that cannot be refreshed fails the invocation as
//! `RefreshFailed` after the others were refreshed; Delete removes the row.

use super::fixture::{Fixture, LAMBDA_TIMEOUT};
use super::harness::{unique, Stack};
use fdw_bridge::bootstrap::{Bootstrap, InvocationFailed, RefreshError};
use fdw_bridge::diagnostic::Classified;
use serde_json::{json, Value};
use std::time::Instant;

async fn refresh(
    stack: &Stack,
    bootstrap: &Bootstrap,
    props: &Value,
    servers: &[&str],
    dry_run: bool,
) -> Result<Value, InvocationFailed> {
    let event = json!({
        "Action": "Refresh",
        "LocalCluster": props["LocalCluster"],
        "ServerNames": servers,
        "DryRun": dry_run,
    });
    let got = bootstrap
        .handle_invocation(event, tokio::time::Instant::now() + LAMBDA_TIMEOUT)
        .await;
    stack.assert_no_password_leaked();
    got
}

/// The one link's entry in a refresh answer.
fn only_link(answer: &Value) -> &Value {
    let links = answer["Links"].as_array().expect("Links");
    assert_eq!(links.len(), 1, "{answer:#}");
    &links[0]
}

async fn columns_on_a(stack: &Stack, schema: &str, table: &str) -> Vec<String> {
    let a = stack.clusters.superuser('a', "users").await;
    a.query(
        "SELECT attname::text FROM pg_attribute
          WHERE attrelid = format('%I.%I', $1::text, $2::text)::regclass AND attnum > 0 AND NOT attisdropped
          ORDER BY attnum",
        &[&schema, &table],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect()
}

#[tokio::test]
async fn a_refresh_brings_remote_changes_to_a_without_cloudformation() {
    let stack = Stack::get();
    let _turn = stack.shared().await;
    let bootstrap = stack.bootstrap().await;
    let fixture = Fixture::create(stack, "refresh", 300).await;
    let fdw_user = unique("fdw_refresh");
    let secret = stack.fdw_secret(&fdw_user, "refresh-pw-1").await;
    let server = unique("refresh_link");
    let local = unique("refresh_local");
    let props = fixture.properties(stack, &server, &local, &secret);
    let created = stack
        .invoke(
            &bootstrap,
            stack.event("Create", &unique("refresh-create"), None, &props),
            LAMBDA_TIMEOUT,
        )
        .await;
    created.assert_success();
    let id = created.answer.physical_resource_id.clone();
    let a = stack.clusters.superuser('a', "users").await;
    let b = stack.clusters.superuser('b', "orders").await;

    // The link stored itself on A, without CloudFormation's own properties.
    let stored: Value = a
        .query_one(
            "SELECT properties::text FROM fdw_bridge.links WHERE server_name = $1 AND link_id = $2",
            &[&server, &id],
        )
        .await
        .map(|r| serde_json::from_str(&r.get::<_, String>(0)).unwrap())
        .unwrap();
    assert_eq!(stored["ServerName"], json!(server));
    assert!(stored.get("ServiceToken").is_none(), "{stored:#}");

    // Nothing changed: nothing planned, nothing applied.
    let started = Instant::now();
    let quiet = refresh(stack, &bootstrap, &props, &[&server], false).await.unwrap();
    let no_drift = started.elapsed();
    assert_eq!(only_link(&quiet)["Drift"], 0, "{quiet:#}");
    assert_eq!(only_link(&quiet)["Analyzed"], 0, "{quiet:#}");

    // B changes under the link: a column, a table, an enum label, a table that grew.
    let s = format!("\"{}\"", fixture.schema);
    b.batch_execute(&format!(
        "SET ROLE orders_admin;
         ALTER TABLE {s}.\"Orders\" ADD COLUMN refund_note text;
         CREATE TABLE {s}.added_later (id int PRIMARY KEY, state {s}.status);
         ALTER TYPE {s}.status ADD VALUE 'refunded';
         INSERT INTO {s}.table_0001 SELECT g, 'paid', 'n', g FROM generate_series(1, 1000) g;
         ANALYZE {s}.table_0001;"
    ))
    .await
    .unwrap();

    // A dry run sees all of it and changes nothing.
    let dry = refresh(stack, &bootstrap, &props, &[&server], true).await.unwrap();
    let planned = only_link(&dry);
    assert!(planned["Drift"].as_u64().unwrap() >= 3, "{dry:#}");
    // "Orders" and added_later are (re)imported; table_0001 grew from 0 to 1000 rows.
    assert_eq!(planned["Analyzed"], 3, "{dry:#}");
    let statements = planned["Statements"].to_string();
    for expected in ["refunded", "added_later", "Orders"] {
        assert!(statements.contains(expected), "{expected} not planned: {dry:#}");
    }
    assert!(!columns_on_a(stack, &local, "Orders")
        .await
        .contains(&"refund_note".to_string()));

    // The refresh applies it.
    let started = Instant::now();
    let applied = refresh(stack, &bootstrap, &props, &[&server], false).await.unwrap();
    let with_drift = started.elapsed();
    let done = only_link(&applied);
    assert_eq!(done["Drift"], planned["Drift"], "{applied:#}");
    assert!(columns_on_a(stack, &local, "Orders")
        .await
        .contains(&"refund_note".to_string()));
    assert_eq!(columns_on_a(stack, &local, "added_later").await, ["id", "state"]);
    let labels: Vec<String> = a
        .query(
            "SELECT enumlabel::text FROM pg_enum WHERE enumtypid = format('%I.status', $1::text)::regtype ORDER BY enumsortorder",
            &[&fixture.schema],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(labels.last().map(String::as_str), Some("refunded"), "{labels:?}");
    let analyzed: f32 = a
        .query_one(
            "SELECT reltuples FROM pg_class WHERE oid = format('%I.table_0001', $1::text)::regclass",
            &[&local],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(analyzed, 1000.0);
    // Queried through the link by a mapped role.
    let reader = stack.clusters.report_reader().await;
    let refunded: i64 = reader
        .query_one(
            &format!("SELECT count(*) FROM \"{local}\".\"Orders\" WHERE refund_note IS NULL"),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(refunded, super::fixture::ORDERS);

    // Again: nothing left to do.
    let again = refresh(stack, &bootstrap, &props, &[&server], false).await.unwrap();
    assert_eq!(
        (
            only_link(&again)["Drift"].clone(),
            only_link(&again)["Analyzed"].clone()
        ),
        (json!(0), json!(0)),
        "{again:#}"
    );

    // The secret's AWSCURRENT changes outside a rotation: the refresh keeps the
    // credentials the mappings hold (rotation's business), and queries go on.
    stack.fdw_secret(&fdw_user, "refresh-pw-2-not-on-b").await;
    let kept = refresh(stack, &bootstrap, &props, &[&server], false).await.unwrap();
    assert_eq!(only_link(&kept)["Drift"], 0, "{kept:#}");
    reader
        .query_one(&format!("SELECT count(*) FROM \"{local}\".added_later"), &[])
        .await
        .unwrap();

    // A stored link that can no longer be refreshed fails the invocation, after the others.
    let bogus = unique("bogus_link");
    a.execute(
        "INSERT INTO fdw_bridge.links (server_name, link_id, stack_id, logical_resource_id, properties)
         VALUES ($1, 'fdw-link/bogus', 'arn:stack/bogus', 'Bogus', '{\"ServerName\": 1}')",
        &[&bogus],
    )
    .await
    .unwrap();
    let failed = refresh(stack, &bootstrap, &props, &[&bogus, &server], false)
        .await
        .unwrap_err();
    assert_eq!(failed.error_type(), "RefreshFailed", "{failed}");
    let message = failed.to_string();
    assert!(
        message.starts_with("1 of 2 link(s) could not be refreshed"),
        "{message}"
    );
    assert!(
        message.contains(&bogus) && message.contains("stored properties are no longer valid"),
        "{message}"
    );
    match failed {
        InvocationFailed::Refresh(RefreshError::LinksFailed { outcome, .. }) => {
            let ok = outcome.links.iter().find(|l| l.server_name == server).unwrap();
            assert!(ok.error.is_none(), "{ok:?}");
        }
        other => panic!("{other}"),
    }
    a.execute("DELETE FROM fdw_bridge.links WHERE server_name = $1", &[&bogus])
        .await
        .unwrap();

    // Delete takes the row with the link.
    stack
        .invoke(
            &bootstrap,
            stack.event("Delete", &unique("refresh-delete"), Some(&id), &props),
            LAMBDA_TIMEOUT,
        )
        .await
        .assert_success();
    let left: i64 = a
        .query_one(
            "SELECT count(*) FROM pg_class WHERE oid = to_regclass('fdw_bridge.links')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    if left == 1 {
        let rows: i64 = a
            .query_one(
                "SELECT count(*) FROM fdw_bridge.links WHERE server_name = $1",
                &[&server],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(rows, 0);
    }
    fixture.drop(stack).await;
    println!(
        "refresh of a {}-table link: no drift {} ms, with drift (a column, a table, an enum label, one table re-analyzed) {} ms",
        Fixture::table_count(300),
        no_drift.as_millis(),
        with_drift.as_millis()
    );
}

#[tokio::test]
async fn a_refresh_naming_an_unknown_link_is_an_invalid_event() {
    let stack = Stack::get();
    let _turn = stack.shared().await;
    let bootstrap = stack.bootstrap().await;
    let props = stack.properties("unused", "unused", "arn:unused");
    let e = refresh(stack, &bootstrap, &props, &["no_such_link"], false)
        .await
        .unwrap_err();
    assert_eq!(e.error_type(), "InvalidEvent", "{e}");
    assert!(
        e.to_string().contains("no link named \"no_such_link\" is stored"),
        "{e}"
    );
}
