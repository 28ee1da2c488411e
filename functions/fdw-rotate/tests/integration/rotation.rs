//! fdw-rotate against the local stack: real PostgreSQL over TLS, the real AWS
//! SDK against moto's Secrets Manager, the steps driven as Secrets Manager does.

use crate::common;
use crate::common::{assert_mappings_follow_current, mapping_options, put_pending, rotate, step, Counts, Load, STEPS};
use fdw_bridge::rotate::RotateError;
use fdw_bridge::rotate::StageError;
use fdw_bridge_testkit as harness;
use harness::{LeakWatch, Stack, TestLink};
use serde_json::json;
use std::time::{Duration, Instant};

const ROTATIONS: usize = 20;

/// What [`rotations_under_load`] saw.
struct LoadedRun {
    counts: Counts,
    /// How long each setSecret took.
    set_times: Vec<Duration>,
    /// All the rotations together.
    took: Duration,
}

/// A link and its rotation secret with `strategy`, then `ROTATIONS` whole
/// rotations while 4 clients query across (2 opening a session per query, 2
/// holding one with its cached FDW connection).
async fn rotations_under_load(tag: &str, strategy: &str) -> (TestLink, String, LoadedRun) {
    let stack = Stack::get();
    let link = stack.create_link(tag).await;
    let secret = stack.rotation_secret(&link, strategy).await;
    let rotator = stack.rotator().await;
    let mut watch = LeakWatch::start(stack);
    let load = Load::start(&link, 2, 2);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let mut set_times = Vec::new();
    for _ in 0..ROTATIONS {
        set_times.push(rotate(stack, &mut watch, &rotator, &secret).await);
    }
    let took = started.elapsed();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let counts = load.stop().await;
    (
        link,
        secret,
        LoadedRun {
            counts,
            set_times,
            took,
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_alternating_rotations_under_load_fail_no_query() {
    let stack = Stack::get();
    let _turn = stack.shared().await;
    let (link, secret, run) = rotations_under_load("rot_alt", "alternating").await;
    let (counts, took) = (run.counts, run.took);
    println!(
        "alternating: {ROTATIONS} rotations in {took:?}; {} queries ok, {} failed",
        counts.ok, counts.failed
    );
    assert_eq!(counts.failed, 0, "failed queries: {:?}", counts.errors);
    assert!(
        counts.ok > ROTATIONS as u64 * 4,
        "the clients ran too few queries: {}",
        counts.ok
    );

    // 20 rotations: back on the base role, with a new password; every mapping follows.
    let current = stack.aws.secret_version(&secret, None, "AWSCURRENT").await;
    let previous = stack.aws.secret_version(&secret, None, "AWSPREVIOUS").await;
    assert_eq!(current["username"], json!(link.fdw_user));
    assert_eq!(
        previous["username"],
        json!(fdw_bridge::pg::clone_role_name(&link.fdw_user))
    );
    assert_ne!(current["password"], json!(link.fdw_password));
    for role in ["users_admin", "report_reader"] {
        let (user, password) = mapping_options(stack, &link.server, role).await;
        assert_eq!(json!(user), current["username"]);
        assert_eq!(json!(password), current["password"]);
    }
    // The role in use before keeps working until the rotation after next.
    for v in [&current, &previous] {
        stack
            .clusters
            .login(
                'b',
                "orders",
                v["username"].as_str().unwrap(),
                v["password"].as_str().unwrap(),
            )
            .await;
    }
    // The clone carries the link's marker: the link's Delete removes it too.
    stack.delete_link(&link).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_single_user_rotations_count_their_failed_queries() {
    let stack = Stack::get();
    let _turn = stack.shared().await;
    let (link, secret, run) = rotations_under_load("rot_single", "single").await;
    let (counts, mut set_times) = (run.counts, run.set_times);
    set_times.sort();
    let mut kinds: Vec<String> = counts.errors.iter().map(|e| e.chars().take(120).collect()).collect();
    kinds.sort();
    kinds.dedup();
    // Reported, not hidden: with one user, new connections fail between the
    // password change on B and the mapping switch on A.
    println!(
        "single user: {ROTATIONS} rotations; {} queries ok, {} failed; setSecret median {:?} (max {:?}); errors: {kinds:?}",
        counts.ok,
        counts.failed,
        set_times[ROTATIONS / 2],
        set_times[ROTATIONS - 1]
    );
    assert!(
        counts.ok > ROTATIONS as u64 * 4,
        "the clients ran too few queries: {}",
        counts.ok
    );
    for e in &counts.errors {
        assert!(
            e.contains("password authentication failed"),
            "a failure of another kind: {e}"
        );
    }
    let current = stack.aws.secret_version(&secret, None, "AWSCURRENT").await;
    assert_eq!(current["username"], json!(link.fdw_user));
    assert_mappings_follow_current(stack, &link, &secret).await;
    stack.delete_link(&link).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_step_twice_the_second_changes_nothing() {
    let stack = Stack::get();
    let _turn = stack.shared().await;
    let link = stack.create_link("rot_twice").await;
    let secret = stack.rotation_secret(&link, "alternating").await;
    let rotator = stack.rotator().await;
    let mut watch = LeakWatch::start(stack);
    let token = stack.aws.start_rotation(&secret).await;

    step(&mut watch, &rotator, "createSecret", &secret, &token)
        .await
        .unwrap();
    let pending = stack.aws.secret_version(&secret, Some(&token), "AWSPENDING").await;
    let again = step(&mut watch, &rotator, "createSecret", &secret, &token)
        .await
        .unwrap();
    assert!(again.did.contains("kept"), "{}", again.did);
    assert_eq!(
        stack.aws.secret_version(&secret, Some(&token), "AWSPENDING").await,
        pending
    );

    step(&mut watch, &rotator, "setSecret", &secret, &token).await.unwrap();
    let mappings = mapping_options(stack, &link.server, "report_reader").await;
    assert_eq!(json!(mappings.0), pending["username"]);
    let again = step(&mut watch, &rotator, "setSecret", &secret, &token).await.unwrap();
    assert!(again.did.contains("already logs in"), "{}", again.did);
    assert_eq!(mapping_options(stack, &link.server, "report_reader").await, mappings);

    for _ in 0..2 {
        step(&mut watch, &rotator, "testSecret", &secret, &token).await.unwrap();
    }
    let first = step(&mut watch, &rotator, "finishSecret", &secret, &token)
        .await
        .unwrap();
    assert!(first.did.contains("AWSCURRENT moved"), "{}", first.did);
    assert_eq!(stack.aws.secret_version(&secret, None, "AWSCURRENT").await, pending);
    // Every step of a finished rotation is a no-op.
    for name in STEPS {
        let again = step(&mut watch, &rotator, name, &secret, &token).await.unwrap();
        assert!(again.did.contains("already AWSCURRENT"), "{name}: {}", again.did);
    }
    assert_eq!(stack.aws.secret_version(&secret, None, "AWSCURRENT").await, pending);
    assert_eq!(mapping_options(stack, &link.server, "report_reader").await, mappings);
    let a = stack.clusters.report_reader().await;
    a.query_one(&common::cross_query(&link), &[]).await.unwrap();
    stack.delete_link(&link).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_passwords_round_trip_through_alter_role_and_the_mappings() {
    let stack = Stack::get();
    let _turn = stack.shared().await;
    let link = stack.create_link("rot_hostile").await;
    let secret = stack.rotation_secret(&link, "alternating").await;
    let rotator = stack.rotator().await;
    let mut watch = LeakWatch::start(stack);
    let tag = std::process::id();
    for password in [
        format!("it's {tag} a \"quoted\" one"),
        format!(r"back\slash\\{tag}\"),
        format!("  spaces {tag}  "),
        format!("ünïcødé ✓ 密码 {tag}"),
        format!(r#"all'of"them\ {tag} ü;--"#),
    ] {
        harness::remember_secret(&password);
        let token = stack.aws.start_rotation(&secret).await;
        let mut pending = stack.aws.secret_version(&secret, None, "AWSCURRENT").await;
        let next = fdw_bridge::rotate::RolePair::of(pending["username"].as_str().unwrap())
            .other(pending["username"].as_str().unwrap());
        pending["username"] = json!(next);
        pending["password"] = json!(password);
        // The pending value set directly (GetRandomPassword never makes such passwords).
        put_pending(&secret, &token, &pending).await;
        for name in STEPS {
            step(&mut watch, &rotator, name, &secret, &token)
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        stack.clusters.login('b', "orders", &next, &password).await;
        assert_eq!(
            mapping_options(stack, &link.server, "report_reader").await,
            (next.clone(), password.clone())
        );
        let a = stack.clusters.report_reader().await;
        a.query_one(&common::cross_query(&link), &[])
            .await
            .unwrap_or_else(|e| panic!("query across with password {:?}: {e}", password.len()));
    }
    stack.delete_link(&link).await;
}

#[tokio::test]
async fn the_reference_checks_refuse_before_any_change() {
    let stack = Stack::get();
    let _turn = stack.shared().await;
    let link = stack.create_link("rot_refuse").await;
    let secret = stack.rotation_secret(&link, "alternating").await;
    let rotator = stack.rotator().await;
    let mut watch = LeakWatch::start(stack);
    // Rotation not enabled yet.
    let e = step(
        &mut watch,
        &rotator,
        "createSecret",
        &secret,
        "00000000-0000-0000-0000-000000000000",
    )
    .await
    .unwrap_err();
    assert!(
        matches!(e, RotateError::Stage(StageError::RotationDisabled { .. })),
        "{e}"
    );
    let token = stack.aws.start_rotation(&secret).await;
    let e = step(
        &mut watch,
        &rotator,
        "createSecret",
        &secret,
        "00000000-0000-0000-0000-000000000000",
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("has no version 00000000"), "{e}");
    let e = step(&mut watch, &rotator, "setSecret", &secret, &token)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("createSecret must run"), "{e}");
    let e = step(&mut watch, &rotator, "rotateSecret", &secret, &token)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("unknown rotation step"), "{e}");
    // A pending user that is neither the role nor its clone is refused.
    let mut bad = stack.aws.secret_version(&secret, None, "AWSCURRENT").await;
    bad["username"] = json!("orders_admin");
    bad["password"] = json!(format!("never-set-{}", std::process::id()));
    harness::remember_secret(bad["password"].as_str().unwrap());
    put_pending(&secret, &token, &bad).await;
    let e = step(&mut watch, &rotator, "setSecret", &secret, &token)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("orders_admin, which is neither"), "{e}");
    let (user, _) = mapping_options(stack, &link.server, "report_reader").await;
    assert_eq!(user, link.fdw_user);
    stack.delete_link(&link).await;
}
