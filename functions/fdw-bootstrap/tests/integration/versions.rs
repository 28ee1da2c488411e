//! What each PostgreSQL major changes for the link, shown on whichever side of
//! the change the stack's clusters are: `make test` runs this module on the
//! template's default major, `make test-versions` on stacks of 15 → 17, 17 → 15,
//! 16 → 17 and 17 → 16, so every test here meets both sides in CI.
//! - roles: PostgreSQL 16 lets a CREATEROLE role (Aurora's master user) alter
//!   only the roles it holds ADMIN OPTION on;
//! - connection reservations: PostgreSQL 16's `reserved_connections` comes out
//!   of the FDW role's budget on B;
//! - ANALYZE of a foreign table: postgres_fdw 16 samples on the remote side
//!   (`analyze_sampling`, default `auto`); 15 fetches the whole table.

use fdw_bridge_testkit::{self as harness, unique, Stack};
use std::time::Duration;

const LAMBDA_TIMEOUT: Duration = Duration::from_secs(60);

/// On 16 and later, B's admin loses ADMIN OPTION on the FDW role it made (as
/// after a restored dump, or a new admin secret): the Update that changes the
/// role answers FAILED naming ADMIN OPTION and the exact GRANT, which, run by a
/// superuser, lets the retried Update through. On 15 CREATEROLE alone may alter
/// the role, and the same Update succeeds at once.
#[tokio::test]
async fn an_fdw_role_without_the_admins_admin_option_is_named_with_the_grant_that_fixes_it() {
    let stack = Stack::get();
    let _turn = stack.shared().await;
    let major = stack.clusters.server_major('b').await;
    let bootstrap = stack.bootstrap().await;
    let link = stack.create_link("adminopt").await;
    let b = stack.clusters.superuser('b', "orders").await;
    // Whatever gave the admin its ADMIN OPTION (on 16, CREATE ROLE by a CREATEROLE role does) is taken back.
    let grants: Vec<(String, String)> = b
        .query(
            "SELECT grantor::regrole::text, member::regrole::text FROM pg_auth_members
              WHERE roleid = $1::text::regrole AND member = 'orders_admin'::regrole",
            &[&link.fdw_user],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    for (grantor, member) in &grants {
        b.batch_execute(&format!(
            "REVOKE {} FROM {member} GRANTED BY {grantor}",
            fdw_bridge::pg::ident(&link.fdw_user)
        ))
        .await
        .unwrap();
    }
    let mut props = link.properties.clone();
    props["FdwConnectionLimit"] = serde_json::json!("7");
    let mut update = stack.event("Update", &unique("adminopt-update"), Some(&link.physical_id), &props);
    update["OldResourceProperties"] = link.properties.clone();
    let first = stack.invoke(&bootstrap, update.clone(), LAMBDA_TIMEOUT).await;
    if major >= 16 {
        assert_eq!(
            grants.len(),
            1,
            "PostgreSQL {major}: the admin's ADMIN OPTION grant on the role it made"
        );
        let grant = format!(
            "GRANT {} TO \"orders_admin\" WITH ADMIN OPTION, INHERIT FALSE, SET FALSE",
            fdw_bridge::pg::ident(&link.fdw_user)
        );
        first.assert_failed_with(&["remote cluster", "orders_admin lacks ADMIN OPTION on role", &grant]);
        assert_eq!(
            stack.clusters.connection_limit_on_b(&link.fdw_user).await,
            65,
            "nothing changed on B"
        );
        println!("PostgreSQL {major}: {}", first.reason());
        b.batch_execute(&grant).await.unwrap();
        let mut retried = update;
        retried["ResponseURL"] = serde_json::json!(format!(
            "{}/{}",
            stack.var("RESPONSE_URL_BASE"),
            unique("adminopt-retry")
        ));
        stack.invoke(&bootstrap, retried, LAMBDA_TIMEOUT).await.assert_success();
    } else {
        assert!(grants.is_empty(), "PostgreSQL {major} records no grant for CREATE ROLE");
        first.assert_success();
    }
    assert_eq!(stack.clusters.connection_limit_on_b(&link.fdw_user).await, 7);
    let updated = harness::TestLink {
        properties: props,
        ..link
    };
    stack.delete_link(&updated).await;
}

/// The FDW role's default budget is a third of the slots ordinary roles may
/// open on B: max_connections less superuser_reserved_connections, and on 16
/// and later less reserved_connections (kept for pg_use_reserved_connections).
/// On 15 the setting does not exist and nothing more is taken.
#[tokio::test]
async fn the_budget_leaves_out_the_reserved_connections_where_the_server_has_them() {
    let stack = Stack::get();
    let _turn = stack.exclusive().await;
    let major = stack.clusters.server_major('b').await;
    let _reserved = (major >= 16).then(|| stack.clusters.restart_with('b', &[("reserved_connections", "30")]));
    let b = stack.clusters.superuser('b', "orders").await;
    let row = b
        .query_one(
            "SELECT current_setting('max_connections')::int, current_setting('superuser_reserved_connections')::int,
                    current_setting('reserved_connections', true)",
            &[],
        )
        .await
        .unwrap();
    let (max, superuser): (i32, i32) = (row.get(0), row.get(1));
    let reserved: Option<String> = row.get(2);
    let link = stack.create_link("reserved").await;
    let limit = stack.clusters.connection_limit_on_b(&link.fdw_user).await;
    if major >= 16 {
        assert_eq!(reserved.as_deref(), Some("30"));
        assert_eq!(
            limit,
            (max - superuser - 30) / 3,
            "PostgreSQL {major}: the budget leaves the 30 reserved out"
        );
    } else {
        assert_eq!(reserved, None, "PostgreSQL {major} has no reserved_connections");
        assert_eq!(limit, (max - superuser) / 3);
    }
    println!("PostgreSQL {major}: max_connections {max}, superuser_reserved {superuser}, reserved {reserved:?}: FDW role limit {limit}");
    stack.delete_link(&link).await;
}

/// ANALYZE of the link's foreign tables (at Create, and by the refresh when a
/// remote table grew): with cluster A on 16 or later postgres_fdw samples on
/// cluster B (analyze_sampling's default `auto` is TABLESAMPLE BERNOULLI against
/// a remote 9.5 or later), so B sends about 30,000 of a large table's rows; with
/// A on 15 B sends every row. B's statement log shows which query ANALYZE ran.
#[tokio::test]
async fn analyze_samples_on_the_remote_cluster_where_postgres_fdw_can() {
    let stack = Stack::get();
    let _turn = stack.shared().await;
    let major_a = stack.clusters.server_major('a').await;
    let schema = unique("sampled");
    let b = stack.clusters.superuser('b', "orders").await;
    let quoted = fdw_bridge::pg::ident(&schema);
    // 100,000 rows: ANALYZE wants 30,000 (300 x default_statistics_target), under 95 % of the table, so it samples.
    b.batch_execute(&format!(
        "CREATE SCHEMA {quoted} AUTHORIZATION orders_admin;
         CREATE TABLE {quoted}.big AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 100000) g;
         ALTER TABLE {quoted}.big OWNER TO orders_admin;
         ANALYZE {quoted}.big;"
    ))
    .await
    .unwrap();
    let log_before = std::fs::metadata(stack.var("PG_B_LOG")).unwrap().len();
    let link = stack
        .create_link_with("sampled", |p| {
            p["ImportSchemas"][0]["RemoteSchema"] = serde_json::json!(schema);
        })
        .await;
    let log = std::fs::read(stack.var("PG_B_LOG")).unwrap();
    let added = String::from_utf8_lossy(&log[log_before as usize..]).to_string();
    // postgres_fdw names the remote table schema-qualified; the cursor's query is on its own log line.
    let table = format!("{schema}.big");
    let remote_reads: Vec<&str> = added
        .lines()
        .filter(|l| l.contains(&table) && l.contains("SELECT"))
        .collect();
    assert!(
        !remote_reads.is_empty(),
        "B's log shows no read of {table} since the Create began"
    );
    let stats: i64 = stack
        .clusters
        .superuser('a', "users")
        .await
        .query_one(
            "SELECT count(*) FROM pg_stats WHERE schemaname = $1 AND tablename = 'big'",
            &[&link.local_schema],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        stats, 2,
        "the Create analyzed the foreign table (both columns have statistics)"
    );
    let sampled = remote_reads.iter().any(|l| l.contains("TABLESAMPLE BERNOULLI"));
    println!("cluster A on PostgreSQL {major_a}: ANALYZE's remote reads of {table}: {remote_reads:?}");
    if major_a >= 16 {
        assert!(
            sampled,
            "PostgreSQL {major_a}: ANALYZE did not sample on B: {remote_reads:?}"
        );
    } else {
        assert!(
            !sampled,
            "PostgreSQL {major_a} has no remote sampling, yet B saw TABLESAMPLE"
        );
    }
    stack.delete_link(&link).await;
    b.batch_execute(&format!("DROP SCHEMA {quoted} CASCADE")).await.unwrap();
}
