//! Reports across two links (issue 21): cluster A linked to B (the function's
//! link, `{{remote}}`) and to C (the stack's third cluster, `stack.sh up
//! --with-c`, which `make integration` starts; `{{remote:payments}}` through
//! FDW_REPORT_LINKS). The shipped report orders_and_payments_by_country runs
//! through fdw-report's own binary and is checked against each cluster's own
//! figures, joined here; each link's report budget is its own, and a failure
//! through C's link names C's foreign server.

use crate::common::{clear_windows, function, report_env, settings_with, stored, window};
use fdw_bridge::report::{Catalog, HandleError, ReportFunction, Status, Window};
use fdw_bridge_testkit::{self as harness, DeadlineHeader, Stack, TestLink};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tokio_postgres::Client;

const ACROSS: &str = "orders_and_payments_by_country";

fn require_cluster_c(stack: &Stack) {
    assert!(
        stack.has_var("PG_C_PORT"),
        "this stack has no cluster C: start it with `stack/stack.sh up --with-c` (make integration does)"
    );
}

/// A link from A to C's `payments` database.
async fn link_to_c(stack: &Stack, tag: &str) -> TestLink {
    stack
        .create_link_with(tag, |p| {
            p["RemoteCluster"] = json!({
                "ClusterIdentifier": stack.var("PAYMENTS_CLUSTER_ID"), "Endpoint": "127.0.0.1",
                "Port": stack.var("PG_C_PORT"), "Database": "payments",
                "AdminSecretArn": stack.var("PAYMENTS_ADMIN_SECRET_ARN"),
            });
        })
        .await
}

/// FDW_REPORT_LINKS naming link C `payments`, as the reports write it.
fn links_env(c: &TestLink, slots: u32) -> String {
    json!({"payments": {"schema": c.local_schema, "remote_slots": slots}}).to_string()
}

/// Per country: (customers, orders, order cents, payments, paid cents).
type ByCountry = BTreeMap<String, [i64; 5]>;

/// The report's figures from each cluster directly (superuser sessions), joined here.
async fn oracle(stack: &Stack, w: &Window) -> ByCountry {
    let country: BTreeMap<i64, String> = stack
        .superuser('a', "users")
        .await
        .query("SELECT id, country FROM public.users", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let per_user = |c: Client, sql: &'static str| async move {
        c.query(sql, &[&w.start, &w.end])
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get::<_, i64>(0), (r.get::<_, i64>(1), r.get::<_, i64>(2))))
            .collect::<BTreeMap<i64, (i64, i64)>>()
    };
    let orders = per_user(
        stack.superuser('b', "orders").await,
        "SELECT user_id, count(*), sum(total_cents)::bigint FROM public.orders
          WHERE created_at >= $1 AND created_at < $2 GROUP BY user_id",
    )
    .await;
    let payments = per_user(
        stack.superuser('c', "payments").await,
        "SELECT user_id, count(*), sum(amount_cents)::bigint FROM public.payments
          WHERE paid_at >= $1 AND paid_at < $2 GROUP BY user_id",
    )
    .await;
    let mut out = ByCountry::new();
    let users: std::collections::BTreeSet<i64> = orders.keys().chain(payments.keys()).copied().collect();
    for user in users {
        let Some(c) = country.get(&user) else { continue };
        let e = out.entry(c.clone()).or_insert([0; 5]);
        e[0] += 1;
        if let Some((n, cents)) = orders.get(&user) {
            e[1] += n;
            e[2] += cents;
        }
        if let Some((n, cents)) = payments.get(&user) {
            e[3] += n;
            e[4] += cents;
        }
    }
    out
}

/// The stored rows of the report, as the oracle's map (and their countries in stored order).
fn by_country(rows: &[String]) -> (ByCountry, Vec<String>) {
    let mut out = ByCountry::new();
    let mut order = Vec::new();
    for row in rows {
        let v: Value = serde_json::from_str(row).unwrap();
        let n = |k: &str| v[k].as_i64().unwrap_or_else(|| panic!("{k} in {row}"));
        let country = v["country"].as_str().unwrap().to_string();
        order.push(country.clone());
        out.insert(
            country,
            [
                n("customers"),
                n("orders"),
                n("order_cents"),
                n("payments"),
                n("paid_cents"),
            ],
        );
    }
    (out, order)
}

fn event(w: &Window, reports: &[&str], tag: &str) -> Value {
    json!({"reports": reports, "scheduledTime": w.end.to_rfc3339(), "executionId": harness::unique(tag),
           "window": {"start": w.start.to_rfc3339(), "end": w.end.to_rfc3339()}})
}

#[tokio::test(flavor = "multi_thread")]
async fn a_report_across_three_clusters_through_the_function_matches_each_clusters_own_figures() {
    let stack = Stack::get();
    require_cluster_c(stack);
    let _turn = stack.shared().await;
    let link_b = stack.create_link("across_b").await;
    let link_c = link_to_c(stack, "across_c").await;
    let w = window("2025-05-01T00:00:00Z", "2025-06-01T00:00:00Z");
    clear_windows(stack, &[w]).await;

    // fdw-report's own binary, configured as template-existing.yaml configures it with a cluster C.
    let mut env = report_env(stack, &link_b);
    env.push(("FDW_REPORT_LINKS", links_env(&link_c, 2)));
    let process = stack
        .spawn_function_as(
            env!("CARGO_BIN_EXE_fdw-report"),
            &event(&w, &[ACROSS, "revenue_by_country_segment"], "across"),
            DeadlineHeader::In(Duration::from_secs(120)),
            &env,
        )
        .await;
    let body = process
        .answer(Duration::from_secs(150))
        .await
        .unwrap_or_else(|e| panic!("the invocation failed: {e}"));
    let answer: Value = serde_json::from_str(&body).unwrap();
    for r in answer["reports"].as_array().unwrap() {
        assert_eq!(r["status"], "succeeded", "{answer}");
        assert_eq!(r["flagged"], false, "{answer}");
    }

    let expected = oracle(stack, &w).await;
    assert!(
        expected.values().filter(|v| v[1] > 0 && v[3] > 0).count() >= 3,
        "the window holds orders and payments in several countries: {expected:?}"
    );
    let s = stored(stack, ACROSS, &w).await.expect("run record");
    assert_eq!(s.status, "succeeded");
    assert_eq!(s.row_count, Some(expected.len() as i64));
    let (got, order) = by_country(&s.rows);
    assert_eq!(
        got, expected,
        "the stored report differs from the clusters' own figures"
    );
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted, "rows are in country order");
    // One foreign scan per link, each with its window filter run on its own cluster.
    assert_eq!(s.remote_sql.len(), 2, "{:?}", s.remote_sql);
    let shipped = |table: &str, column: &str| {
        s.remote_sql.iter().any(|sql| {
            sql.contains(&format!("FROM public.{table} "))
                && sql.contains(&format!("(({column} >= '2025-05-01 00:00:00+00'))"))
                && sql.contains(&format!("(({column} < '2025-06-01 00:00:00+00'))"))
        })
    };
    assert!(
        shipped("orders", "created_at") && shipped("payments", "paid_at"),
        "{:?}",
        s.remote_sql
    );
    assert!(!s.flagged);

    stack.delete_link(&link_c).await;
    stack.delete_link(&link_b).await;
    stack.assert_no_password_leaked();
}

#[tokio::test(flavor = "multi_thread")]
async fn each_link_has_its_own_report_budget_and_a_failure_names_its_remote_cluster() {
    let stack = Stack::get();
    require_cluster_c(stack);
    let _turn = stack.shared().await;
    let link_b = stack.create_link("budget_b").await;
    let link_c = link_to_c(stack, "budget_c").await;
    let f = ReportFunction {
        settings: settings_with(
            stack,
            &link_b.local_schema,
            &[("FDW_REPORT_LINKS", links_env(&link_c, 1))],
        ),
        ..function(stack, &link_b.local_schema, Catalog::shipped().unwrap()).await
    };
    let w = window("2025-07-01T00:00:00Z", "2025-07-02T00:00:00Z");
    clear_windows(stack, &[w]).await;

    // Another invocation holds link C's one report slot (FDW_REPORT_LINKS payments.remote_slots = 1).
    let holder = stack.superuser('a', "users").await;
    let class_c = format!("fdw-bridge report slots {}", link_c.local_schema);
    holder
        .execute("SELECT pg_advisory_lock(hashtext($1::text), 0)", &[&class_c])
        .await
        .unwrap();
    let outcome = f
        .handle_until(
            &event(&w, &[ACROSS, "revenue_by_country_segment"], "budget"),
            &harness::unique("req"),
            Instant::now() + Duration::from_secs(6),
        )
        .await;
    let Err(HandleError::ReportsFailed { outcomes, .. }) = outcome else {
        panic!("the report across C ran without C's slot: {outcome:?}");
    };
    // B's budget is its own: the report of link B alone ran meanwhile.
    let of = |name: &str| outcomes.iter().find(|o| o.report == name).unwrap();
    assert_eq!(of("revenue_by_country_segment").status, Status::Succeeded);
    let across = of(ACROSS);
    assert_eq!(across.status, Status::Failed);
    let error = across.error.as_deref().unwrap_or_default();
    assert!(
        error.starts_with(&format!(
            "no report slot on the remote cluster of link payments (schema \"{}\", FDW_REPORT_LINKS) came free",
            link_c.local_schema
        )) && error.contains("(1 slots (FDW_REPORT_LINKS payments.remote_slots) shared"),
        "{error}"
    );
    // C's slot free again: the same window runs, a second attempt.
    holder
        .execute("SELECT pg_advisory_unlock(hashtext($1::text), 0)", &[&class_c])
        .await
        .unwrap();
    f.handle(&event(&w, &[ACROSS], "budget-again"), &harness::unique("req"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let stored_run = stored(stack, ACROSS, &w).await.expect("run record");
    assert_eq!((stored_run.status.as_str(), stored_run.attempt), ("succeeded", 2));

    // C refuses link C's FDW role: the error names C's foreign server and link, not B's.
    let c = stack.superuser('c', "payments").await;
    let role = fdw_bridge::pg::ident(&link_c.fdw_user);
    let budget: i32 = c
        .query_one(
            "SELECT rolconnlimit FROM pg_roles WHERE rolname = $1::text",
            &[&link_c.fdw_user],
        )
        .await
        .unwrap()
        .get(0);
    c.batch_execute(&format!("ALTER ROLE {role} CONNECTION LIMIT 0"))
        .await
        .unwrap();
    let w2 = window("2025-07-02T00:00:00Z", "2025-07-03T00:00:00Z");
    clear_windows(stack, &[w2]).await;
    let refused = f
        .handle_until(
            &event(&w2, &[ACROSS], "refused"),
            &harness::unique("req"),
            Instant::now() + Duration::from_secs(5),
        )
        .await;
    c.batch_execute(&format!("ALTER ROLE {role} CONNECTION LIMIT {budget}"))
        .await
        .unwrap();
    let Err(HandleError::ReportsFailed { outcomes, .. }) = refused else {
        panic!("C refused the FDW role, yet: {refused:?}");
    };
    let error = outcomes[0].error.as_deref().unwrap_or_default();
    assert!(
        error.contains(&format!("(through foreign server \"{}\" at 127.0.0.1:", link_c.server))
            && error.contains(&format!("too many connections for role \"{}\"", link_c.fdw_user)),
        "{error}"
    );
    assert!(!error.contains(&link_b.server), "{error}");

    stack.delete_link(&link_c).await;
    stack.delete_link(&link_b).await;
    stack.assert_no_password_leaked();
}
