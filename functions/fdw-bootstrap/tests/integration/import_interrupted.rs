//! Cluster B stopped while cluster A runs IMPORT FOREIGN SCHEMA for a Create.
//! The kill point is deterministic: the test holds an ACCESS EXCLUSIVE lock on
//! B's `pg_attrdef`, which postgres_fdw's import query reads (the login and the
//! link's own statements on B do not), so the IMPORT waits on B; the test sees
//! it waiting there and stops B (fast shutdown: every session ends, the lock
//! holder's too). B stays down past the invocation's time (a 20 s Lambda
//! timeout: 3 s of retries after the connect bound and the margins), so the
//! Create answers FAILED saying how long B was unreachable; a B that comes back
//! in time is the failover test's case. It stops a cluster, so it has the stack alone.

use fdw_bridge_testkit::{self as harness, unique, Stack};
use std::time::{Duration, Instant};

/// Every object of A's catalog a link could make, one `kind:name` a line.
async fn catalog_of_a(stack: &Stack) -> Vec<String> {
    let a = stack.clusters.superuser('a', "users").await;
    a.query(
        "SELECT 'server:' || srvname FROM pg_foreign_server
         UNION ALL SELECT 'mapping:' || srvname || ':' || usename FROM pg_user_mappings
         UNION ALL SELECT 'schema:' || nspname FROM pg_namespace
         UNION ALL SELECT 'extension:' || extname FROM pg_extension
         UNION ALL SELECT 'type:' || n.nspname || '.' || t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_b_stopped_during_import_and_not_back_in_time_fails_naming_it_leaves_a_as_before_and_the_retry_succeeds(
) {
    let stack = Stack::get();
    let _turn = stack.exclusive().await;
    let bootstrap = stack.bootstrap().await;
    let fdw_user = unique("fdw_import");
    let secret = stack.fdw_secret(&fdw_user, "import-pw-1").await;
    let (server, schema) = (unique("import_link"), unique("import_remote"));
    let props = stack.properties(&server, &schema, &secret);
    let event = stack.event("Create", &unique("import-create"), None, &props);
    let before = catalog_of_a(stack).await;

    let watched = fdw_user.clone();
    let guard = stack.clusters.restart_on_drop('b');
    let holder = stack.clusters.superuser('b', "orders").await;
    holder
        .batch_execute("BEGIN; LOCK TABLE pg_catalog.pg_attrdef IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let watcher = tokio::spawn(async move {
        // The IMPORT's query on B, as the link's FDW role, waiting for the lock.
        let b = stack.clusters.superuser('b', "orders").await;
        let started = Instant::now();
        loop {
            let waiting: Option<String> = b
                .query_opt(
                    "SELECT query FROM pg_stat_activity WHERE usename = $1 AND wait_event_type = 'Lock' LIMIT 1",
                    &[&fdw_user],
                )
                .await
                .unwrap()
                .map(|r| r.get(0));
            if let Some(query) = waiting {
                println!(
                    "IMPORT waiting on B: {}",
                    query.split_whitespace().collect::<Vec<_>>().join(" ")
                );
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the IMPORT never waited on B's pg_attrdef"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::task::spawn_blocking(move || stack.clusters.stop_cluster('b'))
            .await
            .unwrap();
    });
    let failed = stack.invoke(&bootstrap, event.clone(), Duration::from_secs(20)).await;
    watcher.await.unwrap();
    drop(holder);
    println!("Reason: {}", failed.reason());
    failed.assert_failed_with(&[
        "unreachable (refused, reset, timed out, starting up or shutting down) for ",
        "remote cluster",
        "check the cluster's status",
    ]);
    assert_eq!(catalog_of_a(stack).await, before, "cluster A's catalog changed");

    drop(guard); // B is back: the same event again (Lambda's retry of the invocation)
    let created = stack.invoke(&bootstrap, event, Duration::from_secs(60)).await;
    created.assert_success();
    let a = stack.clusters.report_reader().await;
    let orders: i64 = a
        .query_one(&format!("SELECT count(*) FROM \"{schema}\".orders"), &[])
        .await
        .unwrap()
        .get(0);
    assert!(orders > 0, "the retried Create imported no orders");
    stack
        .delete_link(&harness::TestLink {
            server,
            local_schema: schema,
            fdw_user: watched,
            fdw_password: "import-pw-1".into(),
            fdw_secret_arn: secret,
            physical_id: created.answer.physical_resource_id.clone(),
            properties: props,
        })
        .await;
}
