//! A remote table the remote admin may not grant: Skip (the default) imports
//! the rest and lists it; Fail names the table, its owner and the grant needed.

use super::fixture::{Fixture, LAMBDA_TIMEOUT};
use super::harness::{self, unique, Stack};
use serde_json::json;

#[tokio::test]
async fn a_table_owned_by_another_role_is_skipped_and_listed_or_refused() {
    let stack = Stack::get();
    let _turn = stack.shared().await;
    let bootstrap = stack.bootstrap().await;
    let fixture = Fixture::create(stack, "ungrant", 2).await;
    let owner = unique("other_team");
    let b = stack.clusters.superuser('b', "orders").await;
    b.batch_execute(&format!(
        "CREATE ROLE {owner}; GRANT USAGE, CREATE ON SCHEMA \"{s}\" TO {owner};
         CREATE TABLE \"{s}\".theirs (id int); ALTER TABLE \"{s}\".theirs OWNER TO {owner}",
        s = fixture.schema
    ))
    .await
    .unwrap();
    let fdw_user = unique("fdw_ungrant");
    let secret = stack.fdw_secret(&fdw_user, "ungrant-pw-1").await;
    let (server, local) = (unique("ungrant_link"), unique("ungrant_remote"));
    let mut props = fixture.properties(stack, &server, &local, &secret);

    props["OnUngrantable"] = json!("Fail");
    let refused = stack
        .invoke(
            &bootstrap,
            stack.event("Create", &unique("ung-fail"), None, &props),
            LAMBDA_TIMEOUT,
        )
        .await;
    refused.assert_failed_with(&[
        &format!("remote table \"{}\".\"theirs\" is owned by {owner}", fixture.schema),
        "WITH GRANT OPTION",
        "OnUngrantable: Skip",
    ]);
    println!("OnUngrantable: Fail → {}", refused.reason());

    props.as_object_mut().unwrap().remove("OnUngrantable");
    let created = stack
        .invoke(
            &bootstrap,
            stack.event("Create", &unique("ung-skip"), None, &props),
            LAMBDA_TIMEOUT,
        )
        .await;
    created.assert_success();
    assert_eq!(created.data("TableCount"), Fixture::table_count(2).to_string());
    assert_eq!(
        created.data("SkippedTables"),
        format!("{}.theirs (owner {owner})", fixture.schema)
    );
    // An Update that only changes FetchSize goes through too.
    props["ServerOptions"]["FetchSize"] = json!("500");
    let id = created.answer.physical_resource_id.clone();
    let updated = stack
        .invoke(
            &bootstrap,
            stack.event("Update", &unique("ung-update"), Some(&id), &props),
            LAMBDA_TIMEOUT,
        )
        .await;
    updated.assert_success();
    // ALTER SERVER and the link's stored properties: nothing about the ungrantable table.
    assert_eq!(updated.data("StatementsApplied"), "2", "{}", updated.reason());
    stack
        .invoke(
            &bootstrap,
            stack.event("Delete", &unique("ung-delete"), Some(&id), &props),
            LAMBDA_TIMEOUT,
        )
        .await
        .assert_success();
    harness::assert_link_gone(stack, &server, &local, &fdw_user).await;
    fixture.drop(stack).await;
    b.batch_execute(&format!("DROP ROLE {owner}")).await.unwrap();
}
