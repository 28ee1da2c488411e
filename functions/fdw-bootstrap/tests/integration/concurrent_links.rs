//! Link operations on one cluster A at once. CloudFormation creates, updates
//! and deletes independent `Custom::FdwLink` resources in parallel (two links
//! in one stack; a replacement whose old link is deleted while another stack's
//! link is created), so every order of their reads and writes on A must work.

use fdw_bridge_testkit as harness;

use harness::{unique, Invocation, OwnDatabase, Stack, TestLink};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio_postgres::Client;

const LAMBDA_TIMEOUT: Duration = Duration::from_secs(120);

/// The servers registered in `fdw_bridge.links` on A, sorted; empty when the registry is gone.
async fn registered(a: &Client) -> Vec<String> {
    let exists: bool = a
        .query_one("SELECT to_regclass('fdw_bridge.links') IS NOT NULL", &[])
        .await
        .unwrap()
        .get(0);
    if !exists {
        return Vec::new();
    }
    a.query("SELECT server_name FROM fdw_bridge.links ORDER BY 1", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// Waits until `n` sessions on A wait for an advisory lock (fdw-bridge's is the only one used).
async fn wait_for_lock_waiters(a: &Client, n: i64) {
    let started = Instant::now();
    loop {
        let waiting: i64 = a
            .query_one(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if waiting >= n {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "only {waiting} of {n} runs came to wait for fdw-bridge's lock on A within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A link's orders, counted through its foreign table as report_reader.
async fn orders_through(stack: &Stack, local_schema: &str) -> String {
    let reader = stack.clusters.report_reader().await;
    let n: i64 = reader
        .query_one(&format!("SELECT count(*) FROM \"{local_schema}\".orders"), &[])
        .await
        .unwrap_or_else(|e| panic!("querying across through {local_schema}: {e}"))
        .get(0);
    n.to_string()
}

/// A database of its own on A, as the stack makes `users` (owned by the admin,
/// postgres_fdw there and usable by the admin), so that its registry holds only
/// the links of the test that made it.
async fn own_database(stack: &Stack) -> OwnDatabase {
    let db = OwnDatabase::new(stack, "race_db", "users_admin").await;
    db.superuser(stack)
        .await
        .batch_execute(
            "CREATE EXTENSION postgres_fdw;
             GRANT USAGE ON FOREIGN DATA WRAPPER postgres_fdw TO users_admin WITH GRANT OPTION",
        )
        .await
        .unwrap();
    db
}

/// The order that lost the race before: the Delete of the last registered link
/// and a Create of another, both waiting for fdw-bridge's lock on A with the
/// Delete first. The Create had read the catalog while the registry existed,
/// so its INSERT met a registry the Delete had just dropped
/// (`relation "fdw_bridge.links" does not exist`). Each run now reads A under
/// the lock, so the Create finds the registry gone and makes it again.
#[tokio::test]
async fn a_create_queued_behind_the_delete_of_the_last_link_makes_the_registry_again() {
    let stack = Stack::get();
    // Alone: the test's lock on A must be the only fdw-bridge lock anyone waits for.
    let _turn = stack.exclusive().await;
    let bootstrap = stack.bootstrap().await;
    let db = own_database(stack).await;
    let dbname = db.name.clone();
    let in_own_db = |p: &mut Value| p["LocalCluster"]["Database"] = Value::from(dbname.clone());
    let a = stack.clusters.superuser('a', &dbname).await;
    let last = stack.create_link_with("last", in_own_db).await;
    assert_eq!(registered(&a).await, vec![last.server.clone()]);

    let fdw_user = unique("fdw_next");
    let secret = stack.fdw_secret(&fdw_user, "next-pw-5").await;
    let (server, schema) = (unique("next_link"), unique("next_remote"));
    let mut props = stack.properties(&server, &schema, &secret);
    in_own_db(&mut props);

    let holder = stack.clusters.superuser('a', &dbname).await;
    holder
        .batch_execute("SELECT pg_advisory_lock(hashtext('fdw-bridge'))")
        .await
        .unwrap();
    let delete = stack.invoke(
        &bootstrap,
        stack.event(
            "Delete",
            &unique("race-delete"),
            Some(&last.physical_id),
            &last.properties,
        ),
        LAMBDA_TIMEOUT,
    );
    let create = async {
        wait_for_lock_waiters(&a, 1).await;
        stack
            .invoke(
                &bootstrap,
                stack.event("Create", &unique("race-create"), None, &props),
                LAMBDA_TIMEOUT,
            )
            .await
    };
    let release = async {
        wait_for_lock_waiters(&a, 2).await;
        holder
            .batch_execute("SELECT pg_advisory_unlock(hashtext('fdw-bridge'))")
            .await
            .unwrap();
    };
    let (deleted, created, ()) = tokio::join!(delete, create, release);
    deleted.assert_success();
    created.assert_success();
    assert_eq!(registered(&a).await, vec![server.clone()]);
    let reader = stack
        .clusters
        .login('a', &dbname, "report_reader", stack.var("REPORT_READER_PASSWORD"))
        .await;
    let n: i64 = reader
        .query_one(
            &format!("SELECT count(*) FROM {}.orders", fdw_bridge::pg::ident(&schema)),
            &[],
        )
        .await
        .unwrap_or_else(|e| panic!("querying across through the new link: {e}"))
        .get(0);
    assert_eq!(n.to_string(), stack.var("STACK_ORDERS"));
    drop(reader);

    stack
        .invoke(
            &bootstrap,
            stack.event(
                "Delete",
                &unique("race-delete-new"),
                Some(&created.answer.physical_resource_id),
                &props,
            ),
            LAMBDA_TIMEOUT,
        )
        .await
        .assert_success();
    assert_eq!(
        registered(&a).await,
        Vec::<String>::new(),
        "the registry goes with its last link"
    );
    drop((a, holder));
    db.drop(stack).await;
    for user in [&last.fdw_user, &fdw_user] {
        let left: i64 = stack
            .clusters
            .superuser('b', "orders")
            .await
            .query_one("SELECT count(*) FROM pg_roles WHERE rolname = $1", &[user])
            .await
            .unwrap()
            .get(0);
        assert_eq!(left, 0, "FDW role {user} left on B");
    }
}

/// A Create, Update or Delete of `link` through the handler.
async fn request(stack: &Stack, kind: &str, link: &TestLink, old: Option<&TestLink>) -> Invocation {
    let bootstrap = stack.bootstrap().await;
    let physical_id = match kind {
        "Create" => None,
        _ => Some(old.unwrap_or(link).physical_id.as_str()),
    };
    let mut event = stack.event(kind, &unique(&format!("many-{kind}")), physical_id, &link.properties);
    if let Some(old) = old {
        event["OldResourceProperties"] = old.properties.clone();
    }
    let answered = stack.invoke(&bootstrap, event, LAMBDA_TIMEOUT).await;
    if answered.status() != "SUCCESS" {
        panic!(
            "{kind} of {} answered {}: {}",
            link.server,
            answered.status(),
            answered.reason()
        );
    }
    answered
}

/// A link's names and properties, not made yet.
async fn planned_link(stack: &Stack, tag: &str, secret: Option<(&str, &str)>) -> TestLink {
    let (fdw_user, fdw_secret_arn) = match secret {
        Some((user, arn)) => (user.to_string(), arn.to_string()),
        None => {
            let user = unique(&format!("fdw_{tag}"));
            let arn = stack.fdw_secret(&user, &format!("{tag}-pw-8")).await;
            (user, arn)
        }
    };
    let server = unique(&format!("{tag}_link"));
    let local_schema = unique(&format!("{tag}_remote"));
    let properties: Value = stack.properties(&server, &local_schema, &fdw_secret_arn);
    TestLink {
        server,
        local_schema,
        fdw_user,
        fdw_password: format!("{tag}-pw-8"),
        fdw_secret_arn,
        physical_id: String::new(),
        properties,
    }
}

/// Links made, replaced and removed at once, in rounds, next to whatever
/// links the binary's other tests hold on the same A: every request answers
/// SUCCESS whatever order the runs take, the links that stay query across,
/// and the ones removed leave nothing behind.
#[tokio::test]
async fn links_created_replaced_and_deleted_at_once_on_one_cluster_a_all_succeed() {
    let stack = Stack::get();
    let _turn = stack.shared().await;
    let a = stack.clusters.superuser('a', "users").await;
    for round in 0..3 {
        let started = Instant::now();
        // Four links at once.
        let mut links = Vec::new();
        for i in 0..4 {
            links.push(planned_link(stack, &format!("many{round}{i}"), None).await);
        }
        let created = futures_util::future::join_all(links.iter().map(|l| request(stack, "Create", l, None))).await;
        for (link, answer) in links.iter_mut().zip(created) {
            link.physical_id = answer.answer.physical_resource_id.clone();
        }

        // Two replaced by a new ServerName (their FDW role handed over), two deleted,
        // two more created, all at once; then CloudFormation's Deletes of the two
        // replaced identities beside the Deletes of the two new links.
        let replacements = vec![
            planned_link(
                stack,
                &format!("repl{round}a"),
                Some((&links[0].fdw_user, &links[0].fdw_secret_arn)),
            )
            .await,
            planned_link(
                stack,
                &format!("repl{round}b"),
                Some((&links[1].fdw_user, &links[1].fdw_secret_arn)),
            )
            .await,
        ];
        let mut extra = vec![
            planned_link(stack, &format!("extra{round}a"), None).await,
            planned_link(stack, &format!("extra{round}b"), None).await,
        ];
        let updates = replacements
            .iter()
            .zip(&links)
            .map(|(new, old)| request(stack, "Update", new, Some(old)));
        let deletes = links[2..].iter().map(|l| request(stack, "Delete", l, None));
        let creates = extra.iter().map(|l| request(stack, "Create", l, None));
        let (updated, _, made) = tokio::join!(
            futures_util::future::join_all(updates),
            futures_util::future::join_all(deletes),
            futures_util::future::join_all(creates),
        );
        let mut replacements = replacements;
        for (link, answer) in replacements.iter_mut().zip(updated) {
            assert_ne!(
                answer.answer.physical_resource_id, "",
                "an identity for {}",
                link.server
            );
            link.physical_id = answer.answer.physical_resource_id.clone();
        }
        for (link, answer) in extra.iter_mut().zip(made) {
            link.physical_id = answer.answer.physical_resource_id.clone();
        }
        let old_deletes = links[..2].iter().map(|l| request(stack, "Delete", l, None));
        let extra_deletes = extra.iter().map(|l| request(stack, "Delete", l, None));
        tokio::join!(
            futures_util::future::join_all(old_deletes),
            futures_util::future::join_all(extra_deletes)
        );

        for link in &replacements {
            assert_eq!(
                orders_through(stack, &link.local_schema).await,
                stack.var("STACK_ORDERS")
            );
        }
        let still: Vec<String> = registered(&a).await;
        for link in &replacements {
            assert!(
                still.contains(&link.server),
                "{} is not registered on A: {still:?}",
                link.server
            );
        }
        for link in links[2..].iter().chain(&extra) {
            harness::assert_link_gone(stack, &link.server, &link.local_schema, &link.fdw_user).await;
            assert!(
                !still.contains(&link.server),
                "{} is still registered on A",
                link.server
            );
        }
        for link in &links[..2] {
            let gone: i64 = a
                .query_one(
                    "SELECT count(*) FROM pg_foreign_server WHERE srvname = $1",
                    &[&link.server],
                )
                .await
                .unwrap()
                .get(0);
            assert_eq!(gone, 0, "the replaced server {} is still on A", link.server);
        }

        // The last two at once.
        futures_util::future::join_all(replacements.iter().map(|l| request(stack, "Delete", l, None))).await;
        for link in &replacements {
            harness::assert_link_gone(stack, &link.server, &link.local_schema, &link.fdw_user).await;
        }
        println!(
            "round {round}: 4 Creates, 2 replacements, 2 Deletes and 2 Creates, 4 Deletes, 2 Deletes at once: {} ms",
            started.elapsed().as_millis()
        );
    }
}

/// A refresh resolves a link from its stored properties, then waits for the
/// link's own lock while an Update of it runs (the schedule firing during a
/// stack update). The Update's change must survive: the refresh sees the
/// stored properties changed under the lock and leaves the link to the newer
/// run (before the link lock, it applied the old properties again).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refresh_that_waited_for_an_update_of_its_link_does_not_undo_it() {
    let stack = Stack::get();
    let _turn = stack.shared().await;
    let link = stack.create_link("refresh_race").await;
    let a = stack.clusters.superuser('a', "users").await;
    // The link's own lock, as a Create, Update or Delete of it holds it.
    a.execute(
        "SELECT pg_advisory_lock(hashtext('fdw-bridge link'), hashtext($1))",
        &[&link.server],
    )
    .await
    .unwrap();
    let bootstrap = stack.bootstrap().await;
    let event =
        json!({"Action": "Refresh", "LocalCluster": link.properties["LocalCluster"], "ServerNames": [link.server]});
    let refresh = tokio::spawn(async move {
        bootstrap
            .handle_invocation(event, tokio::time::Instant::now() + LAMBDA_TIMEOUT)
            .await
    });
    let started = Instant::now();
    loop {
        let waiting: i64 = a
            .query_one(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objsubid = 2
                    AND classid = hashtext('fdw-bridge link')::oid AND objid = hashtext($1)::oid",
                &[&link.server],
            )
            .await
            .unwrap()
            .get(0);
        if waiting > 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the refresh never waited for the link's lock"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // What the Update did meanwhile: FetchSize 5000, on the server and in the link's row.
    let mut changed = link.properties.clone();
    changed["ServerOptions"]["FetchSize"] = json!("5000");
    a.execute(
        "UPDATE fdw_bridge.links SET properties = $2::jsonb WHERE server_name = $1",
        &[&link.server, &changed],
    )
    .await
    .unwrap();
    let alter: String = a
        .query_one(
            "SELECT format('ALTER SERVER %I OPTIONS (SET fetch_size %L)', $1::text, '5000')",
            &[&link.server],
        )
        .await
        .unwrap()
        .get(0);
    a.batch_execute(&alter).await.unwrap();
    a.execute(
        "SELECT pg_advisory_unlock(hashtext('fdw-bridge link'), hashtext($1))",
        &[&link.server],
    )
    .await
    .unwrap();

    let answer = refresh
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("the refresh failed: {e}"));
    assert_eq!(answer["Links"][0]["Error"], Value::Null, "{answer}");
    let options: Vec<String> = a
        .query_one(
            "SELECT srvoptions::text[] FROM pg_foreign_server WHERE srvname = $1",
            &[&link.server],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        options.contains(&"fetch_size=5000".to_string()),
        "the refresh undid the Update: {options:?} ({answer})"
    );
    stack
        .delete_link(&TestLink {
            properties: changed,
            ..link
        })
        .await;
}
