//! Issue 24, through the Lambda Runtime API: fdw-bootstrap's own binary, one
//! process per invocation, while cluster B is down for `FDW_OUTAGE_SECONDS`
//! (30 s unless set), as an Aurora failover or reboot takes its endpoint away.
//! A Create of a new link, an Update of an existing one and the scheduled
//! refresh all start during the outage: each waits for B (the one retry
//! policy), answers SUCCESS once, and both links work afterwards.

use fdw_bridge_testkit as harness;
use harness::{outage_length, unique, Stack};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn create_update_and_refresh_that_meet_an_outage_of_b_succeed() {
    let stack = Stack::get();
    let _turn = stack.exclusive().await;
    let _restart = stack.clusters.restart_on_drop('b');
    let existing = stack.create_link("fo_update").await;
    let fdw_user = unique("fdw_fo_create");
    let secret = stack.fdw_secret(&fdw_user, "fo-create-pw").await;
    let (server, schema) = (unique("fo_create_link"), unique("fo_create_remote"));
    let create = stack.event(
        "Create",
        &unique("fo-create"),
        None,
        &stack.properties(&server, &schema, &secret),
    );
    let mut changed = existing.properties.clone();
    // One option changed: an Update that must reach B too (its prerequisites and budget).
    changed["ServerOptions"]["FetchSize"] = json!("5000");
    let mut update = stack.event("Update", &unique("fo-update"), Some(&existing.physical_id), &changed);
    update["OldResourceProperties"] = existing.properties.clone();
    let refresh = json!({"Action": "Refresh", "LocalCluster": existing.properties["LocalCluster"], "ServerNames": [existing.server]});

    let length = outage_length();
    let outage = stack.clusters.outage('b', length);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let lambda_timeout = Duration::from_secs(180);
    let started = Instant::now();
    let mut processes = Vec::new();
    for (what, event) in [("Create", &create), ("Update", &update), ("refresh", &refresh)] {
        let process = stack
            .functions
            .spawn_function(env!("CARGO_BIN_EXE_fdw-bootstrap"), event, lambda_timeout)
            .await;
        processes.push((what, process));
    }
    let down_for = outage.end().await;
    let mut created_id = String::new();
    for (what, process) in processes {
        let (answer, log) = process.answer_and_log(lambda_timeout).await;
        let body = answer.unwrap_or_else(|e| panic!("{what} failed the invocation: {e}\n{log}"));
        let answer: Value = serde_json::from_str(&body).unwrap();
        let logged = harness::retries_logged(&log);
        println!(
            "{what} during B's {down_for:?} outage: {} after {:?}, {logged} retries logged",
            answer["Status"].as_str().unwrap_or("answered"),
            started.elapsed()
        );
        if what != "refresh" {
            assert_eq!(answer["Status"], "SUCCESS", "{what}: {answer}\n{log}");
        } else {
            assert_eq!(answer["Links"][0]["Error"], Value::Null, "refresh: {answer}\n{log}");
        }
        assert!(logged > 0, "{what} met no outage: {log}");
        if what == "Create" {
            created_id = answer["PhysicalResourceId"].as_str().unwrap_or_default().to_string();
        }
    }
    // Both links work; the Update's option is on the server.
    stack
        .orders_through(&schema)
        .await
        .expect("the link created during the outage");
    stack
        .orders_through(&existing.local_schema)
        .await
        .expect("the link updated during the outage");
    let a = stack.clusters.superuser('a', "users").await;
    let options: Vec<String> = a
        .query_one(
            "SELECT srvoptions::text[] FROM pg_foreign_server WHERE srvname = $1",
            &[&existing.server],
        )
        .await
        .unwrap()
        .get(0);
    assert!(options.contains(&"fetch_size=5000".to_string()), "{options:?}");
    let created = harness::TestLink {
        server: server.clone(),
        local_schema: schema.clone(),
        fdw_user: fdw_user.clone(),
        fdw_password: "fo-create-pw".into(),
        fdw_secret_arn: secret.clone(),
        physical_id: created_id,
        properties: stack.properties(&server, &schema, &secret),
    };
    stack.delete_link(&created).await;
    let updated = harness::TestLink {
        properties: changed,
        ..existing
    };
    stack.delete_link(&updated).await;
}
