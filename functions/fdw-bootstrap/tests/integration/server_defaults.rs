//! The link's measured server defaults (docs/fdw-link.md, "Values and defaults";
//! `make bench-options`) reach the foreign server through Create, and the remote
//! session B runs postgres_fdw's queries in: `cursor_tuple_fraction` 1 there by
//! default; an Update overrides it and adds `work_mem`, and back.

use fdw_bridge_testkit as harness;

use harness::{unique, Stack};
use serde_json::json;
use std::time::Duration;
use tokio_postgres::Client;

const LAMBDA_TIMEOUT: Duration = Duration::from_secs(60);

async fn server_options(a: &Client, server: &str) -> Vec<String> {
    a.query_one(
        "SELECT srvoptions::text[] FROM pg_foreign_server WHERE srvname = $1",
        &[&server],
    )
    .await
    .unwrap()
    .get(0)
}

/// A setting of the remote session, read through the link's server as postgres_fdw
/// runs its queries on B (a foreign table over B's pg_settings, in a schema of its own).
async fn remote_setting(a: &Client, server: &str, probe: &str, name: &str) -> String {
    a.query_one(
        &format!("SELECT setting FROM {probe}.settings WHERE name = $1"),
        &[&name],
    )
    .await
    .unwrap_or_else(|e| panic!("reading {name} on B through {server}: {e:?}"))
    .get(0)
}

#[tokio::test]
async fn the_fast_path_defaults_reach_the_remote_session_and_can_be_changed() {
    let stack = Stack::get();
    let _turn = stack.shared().await;
    let bootstrap = stack.bootstrap().await;
    let link = stack.create_link("defaults").await;
    let server = &link.server;
    let a = stack.clusters.superuser('a', "users").await;

    // Create: the measured defaults, on the server.
    let options = server_options(&a, server).await;
    for wanted in [
        "fetch_size=10000",
        "fdw_tuple_cost=0.2",
        "async_capable=true",
        "use_remote_estimate=false",
        "options=-c cursor_tuple_fraction=1",
    ] {
        assert!(options.contains(&wanted.to_string()), "{wanted} not in {options:?}");
    }
    // ... and in the session B runs the link's queries in (the link's admin has a mapping).
    let probe = unique("defaults_probe");
    a.batch_execute(&format!(
        "CREATE SCHEMA {probe};
         CREATE FOREIGN TABLE {probe}.settings (name text, setting text) SERVER {server}
           OPTIONS (schema_name 'pg_catalog', table_name 'pg_settings')"
    ))
    .await
    .unwrap();
    let admin = stack
        .clusters
        .login('a', "users", "users_admin", stack.var("USERS_ADMIN_PASSWORD"))
        .await;
    a.batch_execute(&format!(
        "GRANT USAGE ON SCHEMA {probe} TO users_admin; GRANT SELECT ON {probe}.settings TO users_admin"
    ))
    .await
    .unwrap();
    assert_eq!(
        remote_setting(&admin, server, &probe, "cursor_tuple_fraction").await,
        "1"
    );
    let default_work_mem = remote_setting(&admin, server, &probe, "work_mem").await;

    // Update: overridden, and work_mem for the remote session too; one ALTER SERVER.
    let mut changed = link.properties.clone();
    changed["ServerOptions"]["RemoteCursorTupleFraction"] = json!("0.1");
    changed["ServerOptions"]["RemoteWorkMem"] = json!("32MB");
    let updated = stack
        .invoke(
            &bootstrap,
            stack.event("Update", &unique("defaults-update"), Some(&link.physical_id), &changed),
            LAMBDA_TIMEOUT,
        )
        .await;
    updated.assert_success();
    let options = server_options(&a, server).await;
    assert!(
        options.contains(&"options=-c cursor_tuple_fraction=0.1 -c work_mem=32MB".to_string()),
        "{options:?}"
    );
    // A new session: postgres_fdw drops a connection whose server changed.
    let admin = stack
        .clusters
        .login('a', "users", "users_admin", stack.var("USERS_ADMIN_PASSWORD"))
        .await;
    assert_eq!(
        remote_setting(&admin, server, &probe, "cursor_tuple_fraction").await,
        "0.1"
    );
    // pg_settings shows work_mem in kB.
    assert_eq!(remote_setting(&admin, server, &probe, "work_mem").await, "32768");

    // Back to the properties of the Create: the defaults again.
    let back = stack
        .invoke(
            &bootstrap,
            stack.event(
                "Update",
                &unique("defaults-back"),
                Some(&link.physical_id),
                &link.properties,
            ),
            LAMBDA_TIMEOUT,
        )
        .await;
    back.assert_success();
    let options = server_options(&a, server).await;
    assert!(
        options.contains(&"options=-c cursor_tuple_fraction=1".to_string()),
        "{options:?}"
    );
    let admin = stack
        .clusters
        .login('a', "users", "users_admin", stack.var("USERS_ADMIN_PASSWORD"))
        .await;
    assert_eq!(
        remote_setting(&admin, server, &probe, "cursor_tuple_fraction").await,
        "1"
    );
    assert_eq!(
        remote_setting(&admin, server, &probe, "work_mem").await,
        default_work_mem
    );

    a.batch_execute(&format!("DROP SCHEMA {probe} CASCADE")).await.unwrap();
    stack.delete_link(&link).await;
}
