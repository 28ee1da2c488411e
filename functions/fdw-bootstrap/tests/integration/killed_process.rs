//! The function process killed in the middle of a Create or a Delete, then the same event
//! again (Lambda retries an asynchronous invocation whose process died; so does
//! an operator). The process is the function's own binary, run as Lambda runs
//! it (testkit's `spawn_function`); the kill point is a lock the test holds:
//! - fdw-bridge's advisory lock on cluster A: the remote side is committed on B,
//!   the local transaction waits at its first statement;
//! - B's `pg_attrdef` locked: the local transaction has made the server, the
//!   mappings and the schema and waits in IMPORT FOREIGN SCHEMA.
//!
//! - an Update that imports into a new LocalSchema: B's `pg_attrdef` locked again;
//! - a Delete: a reader's open transaction on one of the link's foreign tables,
//!   so the local transaction waits to drop it.
//!
//! Each time cluster A's catalog is exactly as before the kill and the retry
//! succeeds. It holds fdw-bridge's lock on A, so it has the stack alone.

use fdw_bridge_testkit::{self as harness, unique, Stack};
use std::time::{Duration, Instant};

/// Every object of A's catalog a link could make, one `kind:name` a line.
async fn catalog_of_a(stack: &Stack) -> Vec<String> {
    let a = stack.clusters.superuser('a', "users").await;
    a.query(
        "SELECT 'server:' || srvname FROM pg_foreign_server
         UNION ALL SELECT 'mapping:' || srvname || ':' || usename FROM pg_user_mappings
         UNION ALL SELECT 'schema:' || nspname FROM pg_namespace
         UNION ALL SELECT 'relation:' || n.nspname || '.' || c.relname || ':' || c.relkind::text FROM pg_class c
                    JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
         ORDER BY 1",
        &[],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect()
}

/// Waits until no session on A runs `like` any more (a killed client's
/// statement ends when it next talks to the client).
async fn wait_gone(stack: &Stack, like: &str) {
    let a = stack.clusters.superuser('a', "users").await;
    let started = Instant::now();
    loop {
        let n: i64 = a
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE $1 AND pid <> pg_backend_pid()",
                &[&like],
            )
            .await
            .unwrap()
            .get(0);
        if n == 0 {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{like:?} still runs on A");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[derive(Clone, Copy, Debug)]
enum KillPoint {
    LocalTransactionStart,
    Import,
}

async fn killed_then_retried(stack: &'static Stack, point: KillPoint) {
    let bootstrap = stack.bootstrap().await;
    let fdw_user = unique("fdw_killed");
    let secret = stack.fdw_secret(&fdw_user, "killed-pw-1").await;
    let (server, schema) = (unique("killed_link"), unique("killed_remote"));
    let props = stack.properties(&server, &schema, &secret);
    let event = stack.event("Create", &unique("killed-create"), None, &props);
    let before = catalog_of_a(stack).await;

    let (cluster, lock, waits_at) = match point {
        // The key is fdw_bridge::pg's LOCK_KEY.
        KillPoint::LocalTransactionStart => (
            'a',
            "SELECT pg_advisory_lock(hashtext('fdw-bridge'))",
            "%pg_advisory_lock(hashtext%",
        ),
        KillPoint::Import => (
            'b',
            "BEGIN; LOCK TABLE pg_catalog.pg_attrdef IN ACCESS EXCLUSIVE MODE",
            "%pg_attrdef%",
        ),
    };
    let holder = stack
        .clusters
        .superuser(cluster, if cluster == 'a' { "users" } else { "orders" })
        .await;
    holder.batch_execute(lock).await.unwrap();
    let mut process = stack
        .functions
        .spawn_function(env!("CARGO_BIN_EXE_fdw-bootstrap"), &event, Duration::from_secs(60))
        .await;
    process.wait_until_blocked(cluster, waits_at).await;
    process.kill();
    drop(holder); // the lock is released: A's session of the dead process ends
    wait_gone(stack, "%IMPORT FOREIGN SCHEMA%").await;
    wait_gone(stack, "%pg_advisory_%lock(hashtext($1))%").await;
    assert_eq!(
        catalog_of_a(stack).await,
        before,
        "{point:?}: cluster A's catalog changed"
    );

    let retried = stack.invoke(&bootstrap, event, Duration::from_secs(60)).await;
    retried.assert_success();
    println!(
        "{point:?}: killed, A as before; the retry: {} statements",
        retried.data("StatementsApplied")
    );
    let orders = stack.orders_through(&schema).await.unwrap();
    assert!(orders > 0, "{point:?}: the retried Create imported no orders");
    stack
        .delete_link(&harness::TestLink {
            server,
            local_schema: schema,
            fdw_user,
            fdw_password: "killed-pw-1".into(),
            fdw_secret_arn: secret,
            physical_id: retried.answer.physical_resource_id.clone(),
            properties: props,
        })
        .await;
}

/// The orders on B counted through the link's foreign table in `schema`, as report_reader.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_killed_mid_way_leaves_a_as_before_and_the_retry_succeeds() {
    let stack = Stack::get();
    let _turn = stack.exclusive().await;
    killed_then_retried(stack, KillPoint::LocalTransactionStart).await;
    killed_then_retried(stack, KillPoint::Import).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_killed_mid_way_leaves_the_link_whole_and_the_retry_removes_it() {
    let stack = Stack::get();
    let _turn = stack.exclusive().await;
    let link = stack.create_link("killed_del").await;
    let bootstrap = stack.bootstrap().await;
    let event = stack.event(
        "Delete",
        &unique("killed-delete"),
        Some(&link.physical_id),
        &link.properties,
    );
    let before = catalog_of_a(stack).await;
    let reader = stack.clusters.report_reader().await;
    reader
        .batch_execute(&format!(
            "BEGIN; SELECT count(*) FROM {}.orders",
            fdw_bridge::pg::ident(&link.local_schema)
        ))
        .await
        .unwrap();
    let mut process = stack
        .functions
        .spawn_function(env!("CARGO_BIN_EXE_fdw-bootstrap"), &event, Duration::from_secs(60))
        .await;
    process.wait_until_blocked('a', "%DROP %").await;
    process.kill();
    drop(reader);
    wait_gone(stack, "%DROP %").await;
    wait_gone(stack, "%pg_advisory_%lock(hashtext($1))%").await;
    assert_eq!(catalog_of_a(stack).await, before, "cluster A's catalog changed");
    stack
        .orders_through(&link.local_schema)
        .await
        .unwrap_or_else(|e| panic!("the link no longer works after the killed Delete: {e}"));

    stack
        .invoke(&bootstrap, event, Duration::from_secs(60))
        .await
        .assert_success();
    harness::assert_link_gone(stack, &link.server, &link.local_schema, &link.fdw_user).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_killed_in_its_import_leaves_the_link_as_it_was_and_the_retry_converges() {
    let stack = Stack::get();
    let _turn = stack.exclusive().await;
    let link = stack.create_link("killed_upd").await;
    let bootstrap = stack.bootstrap().await;
    let moved = unique("killed_upd_moved");
    let mut props = link.properties.clone();
    props["ImportSchemas"][0]["LocalSchema"] = serde_json::json!(moved);
    let mut event = stack.event("Update", &unique("killed-update"), Some(&link.physical_id), &props);
    event["OldResourceProperties"] = link.properties.clone();
    let before = catalog_of_a(stack).await;

    let holder = stack.clusters.superuser('b', "orders").await;
    holder
        .batch_execute("BEGIN; LOCK TABLE pg_catalog.pg_attrdef IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let mut process = stack
        .functions
        .spawn_function(env!("CARGO_BIN_EXE_fdw-bootstrap"), &event, Duration::from_secs(60))
        .await;
    process.wait_until_blocked('b', "%pg_attrdef%").await;
    process.kill();
    drop(holder);
    wait_gone(stack, "%IMPORT FOREIGN SCHEMA%").await;
    wait_gone(stack, "%pg_advisory_%lock(hashtext($1))%").await;
    assert_eq!(catalog_of_a(stack).await, before, "cluster A's catalog changed");
    stack
        .orders_through(&link.local_schema)
        .await
        .unwrap_or_else(|e| panic!("the link no longer works after the killed Update: {e}"));

    let updated = stack.invoke(&bootstrap, event, Duration::from_secs(60)).await;
    updated.assert_success();
    stack
        .orders_through(&moved)
        .await
        .unwrap_or_else(|e| panic!("the retried Update did not import into {moved}: {e}"));
    let old_left: i64 = stack
        .clusters
        .superuser('a', "users")
        .await
        .query_one(
            "SELECT count(*) FROM pg_namespace WHERE nspname = $1",
            &[&link.local_schema],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(old_left, 0, "the retried Update left the old LocalSchema");
    stack
        .delete_link(&harness::TestLink {
            local_schema: moved,
            physical_id: updated.answer.physical_resource_id.clone(),
            properties: props,
            ..link
        })
        .await;
}
