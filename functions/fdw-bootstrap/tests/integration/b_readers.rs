//! Issue 24, items 3 and 4: a link with `RemoteCluster.ReadFrom: Readers` against
//! the stack's streaming replica of B (`stack.sh up --with-b-replica`; `make
//! integration` starts it). The foreign server points at the replica; the FDW
//! role, its grants and its password are made on B's writer and reach the
//! replica by replication. Cross-database queries through the link hold their
//! FDW sessions on the replica and none on B's writer; the FDW role's CONNECTION
//! LIMIT holds on each instance on its own (each counts its own backends); a
//! rotation (alternating users) sets the clone's password on the writer and the
//! queries keep working on the replica.

use fdw_bridge_testkit as harness;

use harness::{Stack, TestLink};
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_postgres::Client;

const LIMIT: i64 = 3;

fn require_b_replica(stack: &Stack) {
    assert!(
        stack.has_var("PG_B_READER_PORT"),
        "this stack has no replica of B: start it with `stack/stack.sh up --with-b-replica` (make integration does)"
    );
}

/// Sessions of the FDW role and its clone on one instance ('b' B's writer, 'r' its replica).
async fn fdw_sessions(stack: &Stack, instance: char, link: &TestLink) -> i64 {
    stack
        .clusters
        .superuser(instance, "orders")
        .await
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE usename IN ($1::text, $1::text || '_clone')",
            &[&link.fdw_user],
        )
        .await
        .unwrap()
        .get(0)
}

/// FDW role sessions on (B's writer, B's replica) once they settle at `want`
/// (a session's backend ends a moment after its client goes), or as they are after 5 s.
async fn settled(stack: &Stack, link: &TestLink, want: (i64, i64)) -> (i64, i64) {
    let started = Instant::now();
    loop {
        let now = (
            fdw_sessions(stack, 'b', link).await,
            fdw_sessions(stack, 'r', link).await,
        );
        if now == want || started.elapsed() > Duration::from_secs(5) {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the replica has replayed everything B's writer has written so far.
async fn replica_caught_up(stack: &Stack) {
    let lsn: String = stack
        .clusters
        .superuser('b', "orders")
        .await
        .query_one("SELECT pg_current_wal_lsn()::text", &[])
        .await
        .unwrap()
        .get(0);
    let replica = stack.clusters.superuser('r', "orders").await;
    let started = Instant::now();
    loop {
        let done: bool = replica
            .query_one("SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn", &[&lsn])
            .await
            .unwrap()
            .get(0);
        if done {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "B's replica did not replay {lsn} within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What the cross-database query should return, read on B's writer.
async fn orders_on_b(stack: &Stack) -> (i64, i64) {
    let row = stack
        .clusters
        .superuser('b', "orders")
        .await
        .query_one("SELECT count(*), sum(total_cents)::bigint FROM public.orders", &[])
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

/// A JOIN across A and B as report_reader, on a session that stays open (its
/// FDW connection stays open with it: keep_connections).
async fn join_across(link: &TestLink) -> Result<(Client, (i64, i64)), String> {
    let reader = Stack::get().clusters.report_reader().await;
    let sql = format!(
        "SELECT count(*), sum(o.total_cents)::bigint FROM public.users u JOIN {}.orders o ON o.user_id = u.id",
        fdw_bridge::pg::ident(&link.local_schema)
    );
    match reader.query_one(&sql, &[]).await {
        Ok(row) => Ok((reader, (row.get(0), row.get(1)))),
        Err(e) => Err(fdw_bridge::pg::error_chain(&e)),
    }
}

/// A direct session as the FDW role on one instance (port), or B's refusal.
async fn fdw_login(stack: &Stack, port: u16, link: &TestLink) -> Result<Client, String> {
    stack
        .clusters
        .connector()
        .connect(&fdw_bridge::pg::ConnectTarget {
            label: format!("B instance on port {port} as the FDW role"),
            endpoint: fdw_bridge::aws::Endpoint {
                host: "127.0.0.1".into(),
                port,
            },
            dbname: "orders".into(),
            user: link.fdw_user.clone(),
            password: link.fdw_password.clone(),
            credential_source: "test".into(),
        })
        .await
        .map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_link_on_bs_readers_queries_the_replica_changes_the_writer_and_holds_its_budget_per_instance() {
    let stack = Stack::get();
    require_b_replica(stack);
    let _turn = stack.shared().await;
    let started = Instant::now();
    let reader_port: u16 = stack.var("PG_B_READER_PORT").parse().unwrap();

    let link = stack
        .create_link_with("readers", |p| {
            p["RemoteCluster"]["ReadFrom"] = json!("Readers");
            p["RemoteCluster"]["ReaderEndpoint"] = json!(stack.var("PG_B_READER_HOST"));
            p["RemoteCluster"]["ReaderPort"] = json!(reader_port.to_string());
            p["FdwConnectionLimit"] = json!(LIMIT.to_string());
        })
        .await;
    // The foreign server reads the replica; the role was made on the writer and replicated.
    let port: String = stack
        .clusters
        .superuser('a', "users")
        .await
        .query_one(
            "SELECT substring(o FROM '^port=(.*)$') FROM pg_foreign_server s, unnest(s.srvoptions) o
              WHERE s.srvname = $1::text AND o LIKE 'port=%'",
            &[&link.server],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        port,
        reader_port.to_string(),
        "the foreign server's port is the replica's"
    );
    for instance in ['b', 'r'] {
        let limit: i32 = stack
            .clusters
            .superuser(instance, "orders")
            .await
            .query_one(
                "SELECT rolconnlimit FROM pg_roles WHERE rolname = $1::text",
                &[&link.fdw_user],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(i64::from(limit), LIMIT, "the FDW role's limit on instance {instance}");
    }

    // LIMIT sessions on A, each with a JOIN across A and B held open: every FDW
    // session is on the replica, none on B's writer, and the answers are B's.
    replica_caught_up(stack).await;
    let expected = orders_on_b(stack).await;
    let mut held = Vec::new();
    for _ in 0..LIMIT {
        let (session, got) = join_across(&link).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(got, expected, "the JOIN through the replica returns what B holds");
        held.push(session);
    }
    let (on_writer, on_replica) = settled(stack, &link, (0, LIMIT)).await;
    println!("b_readers: {LIMIT} sessions on A holding a JOIN: FDW role sessions on B's writer {on_writer}, on B's replica {on_replica}");
    assert_eq!((on_writer, on_replica), (0, LIMIT));

    // The budget holds on the replica: one session more is refused by B's replica...
    let refused = join_across(&link).await.map(|(_, got)| got);
    let refused = refused.expect_err("a session over the budget on the replica should be refused");
    assert!(refused.contains("too many connections for role"), "{refused}");
    // ...while B's writer counts only its own backends: LIMIT more FDW sessions there, then its refusal.
    let mut direct = Vec::new();
    for i in 0..LIMIT {
        direct.push(
            fdw_login(stack, stack.clusters.port('b'), &link)
                .await
                .unwrap_or_else(|e| panic!("FDW session {i} on B's writer, with {LIMIT} on the replica: {e}")),
        );
    }
    let over = fdw_login(stack, stack.clusters.port('b'), &link).await.map(|_| ());
    let over = over.expect_err("a session over the budget on B's writer should be refused");
    assert!(over.contains("too many connections for role"), "{over}");
    let (on_writer, on_replica) = settled(stack, &link, (LIMIT, LIMIT)).await;
    println!("b_readers: at the budget on both instances: writer {on_writer}, replica {on_replica} (CONNECTION LIMIT {LIMIT} each)");
    assert_eq!((on_writer, on_replica), (LIMIT, LIMIT));
    drop(direct);
    drop(held);
    assert_eq!(settled(stack, &link, (0, 0)).await, (0, 0), "the sessions ended");

    // A rotation (alternating users) while clients query through the replica: the
    // clone's password is set on B's writer, replicated, and no query fails.
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..2)
        .map(|_| {
            let stop = stop.clone();
            let (schema, expected) = (link.local_schema.clone(), expected);
            tokio::spawn(async move {
                let (mut ok, mut failed) = (0u32, Vec::new());
                while !stop.load(Ordering::Relaxed) {
                    // A new session each time: a new FDW connection to the replica each time.
                    let reader = Stack::get().clusters.report_reader().await;
                    let sql = format!(
                        "SELECT count(*), sum(total_cents)::bigint FROM {}.orders",
                        fdw_bridge::pg::ident(&schema)
                    );
                    match reader.query_one(&sql, &[]).await {
                        Ok(row) if (row.get::<_, i64>(0), row.get::<_, i64>(1)) == expected => ok += 1,
                        Ok(row) => failed.push(format!(
                            "wrong answer {:?}",
                            (row.get::<_, i64>(0), row.get::<_, i64>(1))
                        )),
                        Err(e) => failed.push(fdw_bridge::pg::error_chain(&e)),
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                (ok, failed)
            })
        })
        .collect();
    let secret = stack.rotation_secret(&link, "alternating").await;
    stack.rotate_whole(&secret, Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);
    let (mut ok, mut failed) = (0, Vec::new());
    for client in clients {
        let (o, f) = client.await.unwrap();
        ok += o;
        failed.extend(f);
    }
    assert!(
        failed.is_empty(),
        "queries through the replica failed during the rotation: {failed:?}"
    );
    assert!(ok >= 4, "the clients ran only {ok} queries during the rotation");
    // After it, the link logs in as the clone, on the replica, and still answers.
    let (session, got) = join_across(&link)
        .await
        .unwrap_or_else(|e| panic!("after the rotation: {e}"));
    assert_eq!(got, expected);
    let clone_on_replica: i64 = stack
        .clusters
        .superuser('r', "orders")
        .await
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE usename = $1::text || '_clone'",
            &[&link.fdw_user],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        clone_on_replica >= 1,
        "after the rotation the FDW session is the clone's, on the replica"
    );
    assert_eq!(settled(stack, &link, (0, 1)).await.0, 0, "and none on B's writer");
    drop(session);
    println!(
        "b_readers: {ok} queries through the replica during the rotation, none failed; {:.1} s in all",
        started.elapsed().as_secs_f64()
    );

    stack.delete_link(&link).await;
    stack.assert_no_password_leaked();
}
