//! A linked to B and to C (the stack's third cluster, `stack.sh up --with-c`;
//! `make integration` starts it): two links, each with its own FDW role on its
//! own cluster, server, schema and connection budget; a report that joins all
//! three clusters; link B's password rotated while C's foreign table is
//! queried without a failure; link C deleted without touching link B.

use fdw_bridge_testkit as harness;

use harness::{Stack, TestLink};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres::Client;

fn require_cluster_c(stack: &Stack) {
    assert!(
        stack.has_var("PG_C_PORT"),
        "this stack has no cluster C: start it with `stack/stack.sh up --with-c` (make integration does)"
    );
}

/// (connection limit, whether it logs in) of `role` on `cluster`, None when it does not exist.
async fn role_on(stack: &Stack, cluster: char, db: &str, role: &str) -> Option<i32> {
    stack
        .clusters
        .superuser(cluster, db)
        .await
        .query_opt("SELECT rolconnlimit FROM pg_roles WHERE rolname = $1::text", &[&role])
        .await
        .unwrap()
        .map(|r| r.get(0))
}

/// Per country: orders and their total on B, payments' total on C, for A's users.
type ByCountry = BTreeMap<String, (i64, i64, i64)>;

/// The three-cluster report, as fdw-report runs a report: as report_reader on A,
/// through both links' foreign tables (each side aggregated by user first, so
/// postgres_fdw ships the GROUP BY to B and to C).
async fn report_across(reader: &Client, b: &TestLink, c: &TestLink) -> ByCountry {
    let sql = format!(
        "WITH o AS (SELECT user_id, count(*) AS n, sum(total_cents) AS total FROM {b}.orders GROUP BY user_id),
              p AS (SELECT user_id, sum(amount_cents) AS paid FROM {c}.payments GROUP BY user_id)
         SELECT u.country, coalesce(sum(o.n), 0)::bigint, coalesce(sum(o.total), 0)::bigint,
                coalesce(sum(p.paid), 0)::bigint
           FROM public.users u LEFT JOIN o ON o.user_id = u.id LEFT JOIN p ON p.user_id = u.id
          GROUP BY u.country",
        b = fdw_bridge::pg::ident(&b.local_schema),
        c = fdw_bridge::pg::ident(&c.local_schema),
    );
    reader
        .query(&sql, &[])
        .await
        .unwrap_or_else(|e| panic!("the three-cluster report failed: {e:?}"))
        .iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2), r.get(3))))
        .collect()
}

/// The same figures read from each cluster directly (superuser sessions), joined here.
async fn oracle(stack: &Stack) -> ByCountry {
    let country: BTreeMap<i64, String> = stack
        .clusters
        .superuser('a', "users")
        .await
        .query("SELECT id, country FROM public.users", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let mut out: ByCountry = country.values().map(|c| (c.clone(), (0, 0, 0))).collect();
    for r in stack
        .clusters
        .superuser('b', "orders")
        .await
        .query(
            "SELECT user_id, count(*), sum(total_cents)::bigint FROM public.orders GROUP BY user_id",
            &[],
        )
        .await
        .unwrap()
    {
        if let Some(c) = country.get(&r.get::<_, i64>(0)) {
            let e = out.get_mut(c).unwrap();
            e.0 += r.get::<_, i64>(1);
            e.1 += r.get::<_, i64>(2);
        }
    }
    for r in stack
        .clusters
        .superuser('c', "payments")
        .await
        .query(
            "SELECT user_id, sum(amount_cents)::bigint FROM public.payments GROUP BY user_id",
            &[],
        )
        .await
        .unwrap()
    {
        if let Some(c) = country.get(&r.get::<_, i64>(0)) {
            out.get_mut(c).unwrap().2 += r.get::<_, i64>(1);
        }
    }
    out
}

/// What a server's mappings log in as on A (the user mapping's `user` option).
async fn mapping_user(stack: &Stack, server: &str) -> String {
    stack
        .clusters
        .superuser('a', "users")
        .await
        .query_one(
            "SELECT DISTINCT substring(o FROM '^user=(.*)$') FROM pg_user_mappings m, unnest(m.umoptions) o
              WHERE m.srvname::text = $1::text AND o LIKE 'user=%'",
            &[&server],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_linked_to_b_and_c_reports_across_both_rotates_one_while_the_other_is_queried_and_deletes_one() {
    let stack = Stack::get();
    require_cluster_c(stack);
    let _turn = stack.shared().await;

    // Two links from A, each with a connection budget of its own.
    let link_b = stack
        .create_link_with("tri_b", |p| p["FdwConnectionLimit"] = json!("20"))
        .await;
    let link_c = stack
        .create_link_with("tri_c", |p| {
            p["RemoteCluster"] = json!({
                "ClusterIdentifier": stack.var("PAYMENTS_CLUSTER_ID"), "Endpoint": "127.0.0.1",
                "Port": stack.var("PG_C_PORT"), "Database": "payments",
                "AdminSecretArn": stack.var("PAYMENTS_ADMIN_SECRET_ARN"),
            });
            p["FdwConnectionLimit"] = json!("7");
        })
        .await;
    assert_ne!(link_b.server, link_c.server);
    // Each FDW role lives on its own cluster only, with its own budget.
    assert_eq!(role_on(stack, 'b', "orders", &link_b.fdw_user).await, Some(20));
    assert_eq!(role_on(stack, 'c', "payments", &link_c.fdw_user).await, Some(7));
    assert_eq!(role_on(stack, 'c', "payments", &link_b.fdw_user).await, None);
    assert_eq!(role_on(stack, 'b', "orders", &link_c.fdw_user).await, None);

    // A report across all three clusters returns what the clusters hold.
    let reader = stack.clusters.report_reader().await;
    let expected = oracle(stack).await;
    assert!(
        expected.values().any(|v| v.0 > 0 && v.2 > 0),
        "the stack holds orders and payments"
    );
    assert_eq!(report_across(&reader, &link_b, &link_c).await, expected);

    // Rotate link B's password (alternating users) while clients query C's foreign table.
    let stop = Arc::new(AtomicBool::new(false));
    let c_schema = fdw_bridge::pg::ident(&link_c.local_schema);
    let clients: Vec<_> = (0..2)
        .map(|_| {
            let stop = stop.clone();
            let sql = format!("SELECT count(*) FROM {c_schema}.payments WHERE id % 7 = 0");
            tokio::spawn(async move {
                let (mut ok, mut failed) = (0u32, Vec::new());
                while !stop.load(Ordering::Relaxed) {
                    // A new session each time: a new FDW connection to C each time.
                    let reader = Stack::get().clusters.report_reader().await;
                    match reader.query_one(&sql, &[]).await {
                        Ok(_) => ok += 1,
                        Err(e) => failed.push(format!("{e:?}")),
                    }
                }
                (ok, failed)
            })
        })
        .collect();
    let before_b = mapping_user(stack, &link_b.server).await;
    let before_c = mapping_user(stack, &link_c.server).await;
    let secret = stack.rotation_secret(&link_b, "alternating").await;
    stack.rotate_whole(&secret, Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);
    let (mut ok, mut failed) = (0, Vec::new());
    for client in clients {
        let (o, f) = client.await.unwrap();
        ok += o;
        failed.extend(f);
    }
    assert!(failed.is_empty(), "queries on C failed during B's rotation: {failed:?}");
    assert!(ok >= 4, "the clients on C ran only {ok} queries during the rotation");
    assert_eq!(
        mapping_user(stack, &link_b.server).await,
        format!("{}_clone", link_b.fdw_user),
        "B's mappings follow the rotation (was {before_b})"
    );
    assert_eq!(
        mapping_user(stack, &link_c.server).await,
        before_c,
        "C's mappings are not B's rotation's business"
    );
    assert_eq!(
        report_across(&stack.clusters.report_reader().await, &link_b, &link_c).await,
        expected
    );

    // Delete link C: its server, schema and FDW role go; link B stays whole and answers.
    stack.delete_link(&link_c).await;
    assert_eq!(role_on(stack, 'c', "payments", &link_c.fdw_user).await, None);
    assert_eq!(role_on(stack, 'b', "orders", &link_b.fdw_user).await, Some(20));
    let orders: i64 = stack
        .clusters
        .report_reader()
        .await
        .query_one(
            &format!(
                "SELECT count(*) FROM {}.orders",
                fdw_bridge::pg::ident(&link_b.local_schema)
            ),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(orders, expected.values().map(|v| v.0).sum::<i64>());
    assert_eq!(
        mapping_user(stack, &link_b.server).await,
        format!("{}_clone", link_b.fdw_user)
    );

    stack.delete_link(&link_b).await;
    stack.assert_no_password_leaked();
}
