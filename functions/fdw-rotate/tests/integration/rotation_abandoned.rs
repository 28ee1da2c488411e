//! Rotations whose state is not what AWSCURRENT says: one abandoned after
//! setSecret (never tested or finished) and then a new rotation, under
//! continuous cross-database queries from fresh connections; and, with a single
//! user, a setSecret killed between B's commit and A's. The clusters, not the
//! secret, say which role is in use: the role A's mappings log in as never has
//! its password changed, and a half-done attempt is repaired by the next step.

use crate::common::{assert_mappings_follow_current, mapping_options, put_pending, remember_pending, step, Load};
use fdw_bridge_testkit as harness;
use harness::{LeakWatch, Stack};
use serde_json::json;
use std::time::{Duration, Instant};

const PAIRS: usize = 12;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn abandoned_after_set_secret_then_a_new_rotation_never_touches_the_role_in_use() {
    let stack = Stack::get();
    let _turn = stack.shared().await;
    let link = stack.create_link("rot_abandon").await;
    let secret = stack.rotation_secret(&link, "alternating").await;
    let rotator = stack.rotator().await;
    let mut watch = LeakWatch::start(stack);
    let load = Load::start(&link, 4, 1);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut in_use_picked = 0;
    for _ in 0..PAIRS {
        // Abandoned: Secrets Manager stops after setSecret (the mappings now use the pending role).
        let abandoned = stack.aws.start_rotation(&secret).await;
        step(&mut watch, &rotator, "createSecret", &secret, &abandoned)
            .await
            .unwrap();
        step(&mut watch, &rotator, "setSecret", &secret, &abandoned)
            .await
            .unwrap();
        let (in_use, _) = mapping_options(stack, &link.server, "report_reader").await;

        // A new rotation (new token) while AWSCURRENT still names the other role.
        let token = stack.aws.start_rotation(&secret).await;
        step(&mut watch, &rotator, "createSecret", &secret, &token)
            .await
            .unwrap();
        let pending = stack.aws.secret_version(&secret, Some(&token), "AWSPENDING").await;
        if pending["username"] == json!(in_use) {
            in_use_picked += 1;
        }
        for name in ["setSecret", "testSecret", "finishSecret"] {
            step(&mut watch, &rotator, name, &secret, &token)
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let counts = load.stop().await;
    println!(
        "{PAIRS} abandoned+new rotation pairs: {} queries ok, {} failed; the new rotation picked the role in use {in_use_picked} times",
        counts.ok, counts.failed
    );
    assert_eq!(in_use_picked, 0, "createSecret chose the role A's mappings log in as");
    assert_eq!(counts.failed, 0, "failed queries: {:?}", counts.errors);
    assert!(counts.ok > PAIRS as u64 * 4, "too few queries: {}", counts.ok);
    // The secret and the clusters agree at the end.
    assert_mappings_follow_current(stack, &link, &secret).await;
    stack.delete_link(&link).await;
}

/// A pending version written by hand for the role A's mappings use (what an
/// older createSecret, or one racing a setSecret, could leave): setSecret
/// refuses it and changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_secret_refuses_a_pending_version_for_the_role_in_use() {
    let stack = Stack::get();
    let _turn = stack.shared().await;
    let link = stack.create_link("rot_inuse").await;
    let secret = stack.rotation_secret(&link, "alternating").await;
    let rotator = stack.rotator().await;
    let mut watch = LeakWatch::start(stack);
    let token = stack.aws.start_rotation(&secret).await;
    let mut pending = stack.aws.secret_version(&secret, None, "AWSCURRENT").await;
    let password = format!("in-use-{}", harness::unique("pw"));
    harness::remember_secret(&password);
    pending["password"] = json!(password);
    put_pending(&secret, &token, &pending).await;
    let before = mapping_options(stack, &link.server, "report_reader").await;
    let e = step(&mut watch, &rotator, "setSecret", &secret, &token)
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains(&format!(
            "{} is the role cluster A's user mappings log in as",
            link.fdw_user
        )),
        "{text}"
    );
    assert_eq!(mapping_options(stack, &link.server, "report_reader").await, before);
    // The role in use still logs in with its password.
    stack
        .clusters
        .login('b', "orders", &link.fdw_user, &link.fdw_password)
        .await;
    stack.delete_link(&link).await;
}

/// Single user, setSecret killed after B's commit and before A's: every new FDW
/// connection fails. The first step of the next attempt (a new token)
/// repairs it before anything else: afterwards a query fails only inside the
/// new rotation's own setSecret window (single user: B's commit before A's).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn single_user_killed_in_set_secret_is_repaired_by_the_next_attempt() {
    let stack = Stack::get();
    let _turn = stack.shared().await;
    let link = stack.create_link("rot_killed").await;
    let secret = stack.rotation_secret(&link, "single").await;
    let rotator = stack.rotator().await;
    let mut watch = LeakWatch::start(stack);
    let killed = stack.aws.start_rotation(&secret).await;
    step(&mut watch, &rotator, "createSecret", &secret, &killed)
        .await
        .unwrap();
    remember_pending(stack, &secret, &killed).await;
    let pending = stack.aws.secret_version(&secret, Some(&killed), "AWSPENDING").await;
    // What setSecret does on B before it is killed: B has the pending password, A not.
    let b = stack.clusters.superuser('b', "orders").await;
    b.batch_execute("SET log_statement = 'none'").await.unwrap();
    b.batch_execute(&format!(
        "ALTER ROLE {} PASSWORD {}",
        fdw_bridge::pg::ident(&link.fdw_user),
        fdw_bridge::pg::literal(pending["password"].as_str().unwrap())
    ))
    .await
    .unwrap();
    let broken = Load::start(&link, 2, 0);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let broken = broken.stop().await;
    assert!(
        broken.failed > 0 && broken.ok == 0,
        "the half-done state breaks new connections: {broken:?}"
    );

    // The next attempt: a new rotation, its first step.
    let token = stack.aws.start_rotation(&secret).await;
    let created = step(&mut watch, &rotator, "createSecret", &secret, &token)
        .await
        .unwrap();
    println!("createSecret of the next attempt: {}", created.did);
    assert!(created.did.contains("repaired"), "{}", created.did);
    let load = Load::start(&link, 4, 0);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut set_window = None;
    for name in ["setSecret", "testSecret", "finishSecret"] {
        let started = Instant::now();
        step(&mut watch, &rotator, name, &secret, &token)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        if name == "setSecret" {
            set_window = Some((started, Instant::now()));
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = load.stop().await;
    let (set_started, set_ended) = set_window.expect("setSecret ran");
    println!(
        "half-done single-user rotation: before the repair {} of {} queries failed; after it {} ok, {} failed (during the new rotation's setSecret window)",
        broken.failed,
        broken.ok + broken.failed,
        after.ok,
        after.failed
    );
    for e in &after.errors {
        assert!(
            e.contains("password authentication failed"),
            "another kind of failure: {e}"
        );
    }
    // How many queries meet the window between B's commit and A's depends on
    // how long that window lasts on a loaded machine; where they fail does
    // not: every failure lies inside the new rotation's setSecret (plus the
    // moment a refused connection takes to come back to the client).
    let slack = Duration::from_millis(1000);
    for (at, e) in after.failed_at.iter().zip(&after.errors) {
        assert!(
            *at >= set_started && *at <= set_ended + slack,
            "a query failed outside the new rotation's setSecret ({:?} after it began, which took {:?}): {e}",
            at.saturating_duration_since(set_started),
            set_ended - set_started
        );
    }
    assert_mappings_follow_current(stack, &link, &secret).await;
    stack.delete_link(&link).await;
}
