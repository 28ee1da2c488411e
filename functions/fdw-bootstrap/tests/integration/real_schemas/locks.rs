//! Bounded lock waits: a session that keeps a foreign table locked makes the
//! Delete fail after LockTimeoutSeconds, naming the session, instead of hanging.

use super::fixture::LAMBDA_TIMEOUT;
use super::harness::{self, unique, Stack};
use std::time::Duration;

#[tokio::test]
async fn delete_blocked_by_an_idle_transaction_names_it_and_answers_in_seconds() {
    let stack = Stack::get();
    let _turn = stack.exclusive().await;
    let bootstrap = stack.bootstrap().await;
    let fdw_user = unique("fdw_lock");
    let secret = stack.fdw_secret(&fdw_user, "lock-pw-1").await;
    let (server, schema) = (unique("lock_link"), unique("lock_remote"));
    // The default lock timeout (5 s): no property needed for a bounded wait.
    let props = stack.properties(&server, &schema, &secret);
    let created = stack
        .invoke(
            &bootstrap,
            stack.event("Create", &unique("lock-create"), None, &props),
            LAMBDA_TIMEOUT,
        )
        .await;
    created.assert_success();
    let id = created.answer.physical_resource_id.clone();

    // A reader that read a foreign table and went idle in its transaction.
    let reader = stack.clusters.report_reader().await;
    reader
        .batch_execute(&format!(
            "SET application_name = 'lock_holder_test'; BEGIN; SELECT count(*) FROM \"{schema}\".orders"
        ))
        .await
        .unwrap();
    let holder: i32 = reader.query_one("SELECT pg_backend_pid()", &[]).await.unwrap().get(0);

    let blocked = stack
        .invoke(
            &bootstrap,
            stack.event("Delete", &unique("lock-delete"), Some(&id), &props),
            LAMBDA_TIMEOUT,
        )
        .await;
    blocked.assert_failed_with(&[
        "lock timeout",
        &format!("pid {holder} (user report_reader, application 'lock_holder_test', idle in transaction since"),
        "pg_terminate_backend",
        "LockTimeoutSeconds",
    ]);
    assert!(
        blocked
            .reason()
            .starts_with("local cluster: canceling statement due to lock timeout"),
        "{}",
        blocked.reason()
    );
    assert!(blocked.elapsed < Duration::from_secs(15), "took {:?}", blocked.elapsed);
    println!(
        "Delete blocked by an idle transaction answered FAILED in {:?}: {}",
        blocked.elapsed,
        blocked.reason()
    );

    reader.batch_execute("COMMIT").await.unwrap();
    stack
        .invoke(
            &bootstrap,
            stack.event("Delete", &unique("lock-delete2"), Some(&id), &props),
            LAMBDA_TIMEOUT,
        )
        .await
        .assert_success();
    harness::assert_link_gone(stack, &server, &schema, &fdw_user).await;
}
