//! Cluster A refusing the writer session for lack of slots (the writer role at
//! `CONNECTION LIMIT 1`, its one slot held by another session for 1.5 s): the
//! invocation retries the writer within its deadline, as it retries the
//! reports' sessions, instead of failing before any report. It changes a role
//! every test uses, so it has the stack alone; the limit is lifted even when it fails.

use crate::common::{clear_windows, function, window};
use fdw_bridge::report::{Catalog, Status};
use fdw_bridge_testkit as harness;
use serde_json::json;
use std::time::Duration;

/// Lifts the writer role's limit when dropped (through the stack's psql: Drop cannot await).
struct NoLimitOnDrop(String);

impl Drop for NoLimitOnDrop {
    fn drop(&mut self) {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../stack/stack.sh");
        let status = std::process::Command::new(script)
            .args([
                "psql",
                "a",
                "-c",
                &format!("ALTER ROLE \"{}\" CONNECTION LIMIT -1", self.0),
            ])
            .status()
            .expect("stack/stack.sh psql");
        assert!(status.success(), "could not lift {}'s connection limit", self.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_session_refused_for_lack_of_slots_is_retried() {
    let stack = harness::Stack::get();
    let _turn = stack.exclusive().await;
    let link = stack.create_link("writer").await;
    let f = function(stack, &link.local_schema, Catalog::shipped().unwrap()).await;
    let w = window("2025-08-01T00:00:00Z", "2025-08-02T00:00:00Z");
    clear_windows(stack, &[w]).await;
    let writer = stack.var("USERS_ADMIN_USER").to_string();
    let holder = stack
        .clusters
        .login('a', "users", &writer, stack.var("USERS_ADMIN_PASSWORD"))
        .await;
    let _lift = NoLimitOnDrop(writer.clone());
    stack
        .clusters
        .superuser('a', "users")
        .await
        .batch_execute(&format!(
            "ALTER ROLE {} CONNECTION LIMIT 1",
            fdw_bridge::pg::ident(&writer)
        ))
        .await
        .unwrap();
    let release = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        drop(holder);
    });
    let event = json!({
        "reports": ["revenue_by_country_segment"], "scheduledTime": "2025-08-02T06:00:00Z",
        "window": {"start": "2025-08-01T00:00:00Z", "end": "2025-08-02T00:00:00Z"},
    });
    let outcomes = f
        .handle(&event, &harness::unique("req"))
        .await
        .unwrap_or_else(|e| panic!("the invocation failed although its writer had time to retry: {e}"));
    release.await.unwrap();
    assert_eq!(outcomes[0].status, Status::Succeeded, "{outcomes:?}");
    drop(_lift);
    stack.delete_link(&link).await;
}
