//! A FAILED Reason leads with the cause; the statement comes last, shortened.

use super::fixture::{Fixture, LAMBDA_TIMEOUT};
use super::harness::{self, unique, Stack};
use serde_json::json;

#[tokio::test]
async fn the_cause_leads_even_when_the_import_lists_300_tables() {
    let stack = Stack::get();
    let _turn = stack.shared().await;
    let bootstrap = stack.bootstrap().await;
    let fixture = Fixture::create(stack, "reason", 300).await;
    let fdw_user = unique("fdw_reason");
    let secret = stack.fdw_secret(&fdw_user, "reason-pw-1").await;
    let (server, local) = (unique("reason_link"), unique("reason_remote"));
    let mut props = fixture.properties(stack, &server, &local, &secret);
    // Cluster A verifies B with a CA that did not sign it: the IMPORT fails.
    props["ServerOptions"]["SslRootCert"] = json!(stack.var("FDW_ROGUE_CA_BUNDLE"));
    let got = stack
        .invoke(
            &bootstrap,
            stack.event("Create", &unique("reason"), None, &props),
            LAMBDA_TIMEOUT,
        )
        .await;
    got.assert_failed_with(&["certificate verify failed"]);
    let reason = got.reason();
    println!("Reason ({} bytes): {reason}", reason.len());
    assert!(
        reason.starts_with(
            "remote cluster, as reached from the local cluster's foreign server: could not connect to server"
        ),
        "the cause must lead: {reason}"
    );
    let cause = reason.find("certificate verify failed").unwrap();
    let statement = reason
        .find("Statement: IMPORT FOREIGN SCHEMA")
        .expect("the statement, last");
    assert!(cause < statement, "{reason}");
    assert!(
        !reason.contains("table_0300"),
        "the whole IMPORT list is in the reason: {reason}"
    );
    assert!(got.body.to_string().len() <= 4096);
    harness::assert_link_gone(stack, &server, &local, &fdw_user).await;
    fixture.drop(stack).await;
}
