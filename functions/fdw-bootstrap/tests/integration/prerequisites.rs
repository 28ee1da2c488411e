//! Clusters the link did not make (docs/deploy.md "Deploy to existing clusters"): what
//! the first Create finds missing is answered FAILED before any statement, with
//! what to change, and the Create succeeds once that is done. Each case runs in
//! a database of its own on A (or as an admin of its own on B), as a user's
//! existing cluster would be.

use fdw_bridge_testkit as harness;

use harness::{unique, OwnDatabase, Stack};
use serde_json::{json, Value};

async fn props_in(stack: &Stack, database: &str, tag: &str) -> (Value, String) {
    let user = unique(&format!("fdw_{tag}"));
    let secret = stack.fdw_secret(&user, &format!("{tag}-pw")).await;
    let mut props = stack.properties(&unique(tag), &unique(tag), &secret);
    props["LocalCluster"]["Database"] = json!(database);
    (props, user)
}

async fn create(stack: &Stack, props: &Value) -> harness::Invocation {
    let bootstrap = stack.bootstrap().await;
    stack.request(&bootstrap, "Create", None, props).await
}

/// FAILED with `needles`, before anything was made: no FDW role on B.
async fn assert_refused(stack: &Stack, got: &harness::Invocation, fdw_user: &str, needles: &[&str]) {
    got.assert_failed_with(needles);
    assert!(
        got.reason().contains("nothing was changed on either cluster"),
        "{}",
        got.reason()
    );
    assert!(got.answer.physical_resource_id.starts_with("fdw-link-failed/"));
    let roles: i64 = stack
        .clusters
        .superuser('b', "orders")
        .await
        .query_one("SELECT count(*) FROM pg_roles WHERE rolname = $1::text", &[&fdw_user])
        .await
        .unwrap()
        .get(0);
    assert_eq!(roles, 0, "the refused Create made the FDW role {fdw_user} on B");
}

async fn delete(stack: &Stack, id: &str, props: &Value) {
    let bootstrap = stack.bootstrap().await;
    stack
        .request(&bootstrap, "Delete", Some(id), props)
        .await
        .assert_success();
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_fdw_missing_is_named_with_each_fix_until_the_create_succeeds() {
    let stack = Stack::get();
    let _turn = stack.shared().await;
    let db = OwnDatabase::new(stack, "prereq_fdw", "users_admin").await;
    let (props, fdw_user) = props_in(stack, &db.name, "prereq_fdw").await;

    // Not installed, and users_admin (like any non-rds_superuser) may not create it.
    let got = create(stack, &props).await;
    assert_refused(
        stack,
        &got,
        &fdw_user,
        &[
            "local cluster (LocalCluster, database",
            &format!(
                "postgres_fdw is not installed in database {} and users_admin may not create it",
                db.name
            ),
            &format!("run CREATE EXTENSION postgres_fdw in {} as the master user", db.name),
        ],
    )
    .await;

    // rds.allowed_extensions (Aurora's parameter; here a placeholder set on the database) leaves it out.
    db.superuser(stack)
        .await
        .batch_execute(&format!(
            "ALTER DATABASE {} SET rds.allowed_extensions = 'pg_stat_statements,pgcrypto'",
            fdw_bridge::pg::ident(&db.name)
        ))
        .await
        .unwrap();
    let got = create(stack, &props).await;
    assert_refused(
        stack,
        &got,
        &fdw_user,
        &[
            "rds.allowed_extensions (\"pg_stat_statements,pgcrypto\") does not allow it",
            "add postgres_fdw to rds.allowed_extensions in the cluster's DB cluster parameter group",
        ],
    )
    .await;

    // The master user creates it: now the admin's missing USAGE is what is named.
    db.superuser(stack)
        .await
        .batch_execute("CREATE EXTENSION postgres_fdw")
        .await
        .unwrap();
    let got = create(stack, &props).await;
    assert_refused(
        stack,
        &got,
        &fdw_user,
        &[
            "users_admin lacks USAGE on the foreign-data wrapper postgres_fdw",
            "GRANT USAGE ON FOREIGN DATA WRAPPER postgres_fdw TO \"users_admin\"",
        ],
    )
    .await;

    // The statement the Reason gave, then the same Create succeeds.
    db.superuser(stack)
        .await
        .batch_execute("GRANT USAGE ON FOREIGN DATA WRAPPER postgres_fdw TO \"users_admin\"")
        .await
        .unwrap();
    let got = create(stack, &props).await;
    got.assert_success();
    delete(stack, &got.answer.physical_resource_id.clone(), &props).await;
    db.drop(stack).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_unmet_prerequisite_is_named_at_once_and_nothing_is_made() {
    let stack = Stack::get();
    let _turn = stack.shared().await;
    // A database the local admin may not create schemas in (owned by another role).
    let db = OwnDatabase::new(stack, "prereq_create", "postgres").await;
    db.superuser(stack)
        .await
        .batch_execute("CREATE EXTENSION postgres_fdw; GRANT USAGE ON FOREIGN DATA WRAPPER postgres_fdw TO users_admin")
        .await
        .unwrap();
    // A remote admin without CREATEROLE, with an RDS-managed-shape secret (username, password).
    let weak_admin = unique("orders_weak_admin");
    let weak_password = format!("weak-{}", std::process::id());
    harness::remember_secret(&weak_password);
    let b = stack.clusters.superuser('b', "orders").await;
    // Its own statement: the server logs a whole query string before running any of it.
    b.batch_execute("SET log_statement = 'none'").await.unwrap();
    // Under fdw-bridge's lock on B: the links other tests make GRANT CONNECT on the same database
    // row, and PostgreSQL refuses concurrent GRANTs on one object ("tuple concurrently updated").
    b.batch_execute(&format!(
        "BEGIN; SELECT pg_advisory_xact_lock(hashtext('fdw-bridge'));
         CREATE ROLE {admin} LOGIN PASSWORD {pw}; GRANT CONNECT ON DATABASE orders TO {admin}; COMMIT",
        admin = fdw_bridge::pg::ident(&weak_admin),
        pw = fdw_bridge::pg::literal(&weak_password)
    ))
    .await
    .unwrap();
    let weak_secret = stack
        .aws
        .put_secret(
            &format!("fdw-bridge-test/{weak_admin}"),
            json!({"username": weak_admin, "password": weak_password}),
        )
        .await;
    let (mut props, fdw_user) = props_in(stack, &db.name, "prereq_all").await;
    props["RemoteCluster"]["AdminSecretArn"] = json!(weak_secret);

    let got = create(stack, &props).await;
    assert_refused(
        stack,
        &got,
        &fdw_user,
        &[
            &format!("users_admin lacks CREATE on database {}", db.name),
            &format!("GRANT CREATE ON DATABASE \"{}\" TO \"users_admin\"", db.name),
            &format!("remote cluster (RemoteCluster, database orders): {weak_admin} lacks CREATEROLE"),
            &format!("ALTER ROLE \"{weak_admin}\" CREATEROLE"),
        ],
    )
    .await;
    // The failed identity's Delete succeeds at once, as CloudFormation's rollback sends it.
    delete(stack, &got.answer.physical_resource_id.clone(), &props).await;

    stack
        .clusters
        .superuser('b', "orders")
        .await
        .batch_execute(&format!(
            "BEGIN; SELECT pg_advisory_xact_lock(hashtext('fdw-bridge')); DROP OWNED BY {0}; DROP ROLE {0}; COMMIT",
            fdw_bridge::pg::ident(&weak_admin)
        ))
        .await
        .unwrap();
    db.drop(stack).await;
}
