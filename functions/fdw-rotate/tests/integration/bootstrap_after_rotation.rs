//! fdw-bootstrap and fdw-rotate on one secret, as deployed: the link's
//! FdwRoleSecretArn is the secret that rotates. After a rotation the secret
//! names the clone; an Update of the link must then change nothing, and its
//! Delete must remove the role and its clone.

use crate::common::rotate;
use fdw_bridge_testkit as harness;
use harness::{unique, LeakWatch, Stack};
use serde_json::json;
use std::time::Duration;

const LAMBDA_TIMEOUT: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_link_follows_the_rotated_secret_and_updates_change_nothing() {
    let stack = Stack::get();
    let _turn = stack.shared().await;
    let mut link = stack.create_link("rot_boot").await;
    let secret = stack.rotation_secret(&link, "alternating").await;
    link.properties["FdwRoleSecretArn"] = json!(secret);
    let bootstrap = stack.bootstrap().await;
    let update = |tag: &str| stack.event("Update", &unique(tag), Some(&link.physical_id), &link.properties);

    // Same credentials under another secret: nothing to do on either cluster but
    // storing the new FdwRoleSecretArn in the link's row (fdw_bridge.links).
    let adopted = stack.invoke(&bootstrap, update("rb-adopt"), LAMBDA_TIMEOUT).await;
    adopted.assert_success();
    assert_eq!(adopted.data("StatementsApplied"), "1", "{}", adopted.reason());

    let rotator = stack.rotator().await;
    let mut watch = LeakWatch::start(stack);
    let reader = stack.clusters.report_reader().await;
    for round in 1..=2 {
        rotate(stack, &mut watch, &rotator, &secret).await;
        let current = stack.aws.secret_version(&secret, None, "AWSCURRENT").await;
        let expected_user = if round == 1 {
            fdw_bridge::pg::clone_role_name(&link.fdw_user)
        } else {
            link.fdw_user.clone()
        };
        assert_eq!(current["username"], json!(expected_user));

        let after = stack.invoke(&bootstrap, update("rb-after"), LAMBDA_TIMEOUT).await;
        after.assert_success();
        assert_eq!(
            after.data("StatementsApplied"),
            "0",
            "round {round}: an Update after rotation must not undo it: {}",
            after.reason()
        );
        let n: i64 = reader
            .query_one(
                &format!(
                    "SELECT count(*) FROM {}.orders",
                    fdw_bridge::pg::ident(&link.local_schema)
                ),
                &[],
            )
            .await
            .unwrap_or_else(|e| panic!("round {round}: query across failed: {e}"))
            .get(0);
        assert_eq!(n.to_string(), stack.var("STACK_ORDERS"));
    }
    // Delete with the rotated secret removes the role and its clone (checked by delete_link).
    stack.delete_link(&link).await;
    watch.check(stack);
}
