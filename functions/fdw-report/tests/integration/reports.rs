//! fdw-report against the local stack: a real FDW link made by fdw-bootstrap,
//! the real handler, real TLS sessions as report_reader (reader) and
//! users_admin (writer), secrets from moto. Each test uses windows of its own
//! (or reports of its own) and clears them first, so reruns start clean.

use crate::common::{clear_windows, colocated, function, one_link_reports, runner, stored, t, test_report, window};
use fdw_bridge::report::Catalog;
use fdw_bridge::report::HandleError;
use fdw_bridge::report::Status;
use fdw_bridge_testkit as harness;
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test]
async fn every_shipped_report_matches_the_colocated_oracle() {
    let stack = harness::Stack::get();
    let _turn = stack.shared().await;
    let link = stack.create_link("report").await;
    let catalog = Catalog::shipped().unwrap();
    let f = function(stack, &link.local_schema, catalog.clone()).await;
    // A quarter: every report has rows at the test scale.
    let w = window("2026-01-01T00:00:00Z", "2026-04-01T00:00:00Z");
    clear_windows(stack, &[w]).await;
    let event = json!({"reports": ["all"], "scheduledTime": "2026-04-01T06:00:00Z", "executionId": harness::unique("oracle"),
                       "window": {"start": "2026-01-01T00:00:00Z", "end": "2026-04-01T00:00:00Z"}});
    let outcomes = f
        .handle(&event, &harness::unique("req"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // With one link, "all" is every report of that link: the one across a second link is left out.
    let reports = one_link_reports(&catalog);
    assert!(
        reports.len() < catalog.reports().len(),
        "a shipped report reads a second link"
    );
    assert_eq!(
        outcomes.iter().map(|o| o.report.as_str()).collect::<Vec<_>>(),
        reports.iter().map(|r| r.name.as_str()).collect::<Vec<_>>()
    );
    for report in reports.iter().copied() {
        let outcome = outcomes.iter().find(|o| o.report == report.name).unwrap();
        assert_eq!(
            outcome.status,
            Status::Succeeded,
            "{}: {:?}",
            report.name,
            outcome.error
        );
        let expected = colocated(stack, report, &w).await;
        assert!(
            !expected.is_empty(),
            "{}: the oracle has no rows for the window",
            report.name
        );
        let s = stored(stack, &report.name, &w).await.expect("run record");
        assert_eq!(s.status, "succeeded");
        assert_eq!(s.row_count, Some(expected.len() as i64));
        assert_eq!(
            s.rows, expected,
            "{}: stored rows differ from the co-located oracle",
            report.name
        );
        assert!(!s.remote_sql.is_empty(), "{}: no Remote SQL recorded", report.name);
        assert!(!s.flagged);
    }
    // The reports' own windows (previous day/week) give the same answer as co-located too.
    let at = t("2026-03-04T06:00:00Z");
    let f_rows = runner(&f).await;
    for report in one_link_reports(&catalog) {
        let w = report.window.before(at);
        let check = f_rows.check(report, &w).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(!check.is_flagged(), "{}: {:?}", report.name, check.flagged);
    }
    stack.delete_link(&link).await;
    stack.assert_no_password_leaked();
}

#[tokio::test]
async fn the_same_event_twice_stores_one_result() {
    let stack = harness::Stack::get();
    let _turn = stack.shared().await;
    let link = stack.create_link("report").await;
    let f = function(stack, &link.local_schema, Catalog::shipped().unwrap()).await;
    let w = window("2025-06-02T00:00:00Z", "2025-06-09T00:00:00Z");
    clear_windows(stack, &[w]).await;
    let event = json!({"reports": ["top_customers_by_spend", "revenue_by_country_segment"],
                       "scheduledTime": "2025-06-09T06:00:00Z", "executionId": "exec-twice",
                       "window": {"start": "2025-06-02T00:00:00Z", "end": "2025-06-09T00:00:00Z"}});
    let first = f
        .handle(&event, &harness::unique("req"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(first.iter().all(|o| o.status == Status::Succeeded), "{first:?}");
    let before = stored(stack, "top_customers_by_spend", &w).await.unwrap();
    assert!(!before.rows.is_empty());

    let second = f
        .handle(&event, &harness::unique("req"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(second.len(), 2);
    assert!(second.iter().all(|o| o.status == Status::AlreadyDone), "{second:?}");
    let summary = fdw_bridge::report::summary(&second);
    assert_eq!(summary["reports"][0]["status"], "already_done");
    for name in ["top_customers_by_spend", "revenue_by_country_segment"] {
        let s = stored(stack, name, &w).await.unwrap();
        assert_eq!(s.attempt, 1, "{name} ran twice");
        assert_eq!(s.rows.len() as i64, s.row_count.unwrap(), "{name}: duplicated rows");
    }
    assert_eq!(
        stored(stack, "top_customers_by_spend", &w).await.unwrap().rows,
        before.rows
    );
    stack.delete_link(&link).await;
}

#[tokio::test]
async fn pushdown_check_passes_the_catalog_and_flags_a_whole_table_fetch() {
    let stack = harness::Stack::get();
    let _turn = stack.shared().await;
    let link = stack.create_link("report").await;
    // Written the way the design brief warns about: now() is STABLE, so
    // postgres_fdw ships no WHERE and every order crosses the link.
    let bad = test_report(
        &harness::unique("bad_now_window"),
        "30s",
        "SELECT count(*) AS orders FROM {{remote}}.orders o WHERE o.created_at >= now() - interval '1 day' AND $1::timestamptz < $2::timestamptz",
    );
    let catalog = Catalog::shipped().unwrap().with(bad.clone(), "test").unwrap();
    let f = function(stack, &link.local_schema, catalog.clone()).await;
    let r = runner(&f).await;
    let at = t("2026-03-04T06:00:00Z");
    for report in one_link_reports(&Catalog::shipped().unwrap()) {
        let check = r
            .check(report, &report.window.before(at))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!check.scans.is_empty(), "{}: no foreign scan in the plan", report.name);
        assert!(!check.is_flagged(), "{} is flagged: {:?}", report.name, check.flagged);
    }
    let check = r.check(&bad, &bad.window.before(at)).await.unwrap();
    assert!(check.is_flagged(), "the now() report is not flagged: {:?}", check.scans);

    // Through the handler: it still runs, and the record, the log and the metric say so.
    let w = bad.window.before(at);
    let event = json!({"reports": [bad.name], "scheduledTime": "2026-03-04T06:00:00Z"});
    let outcomes = f
        .handle(&event, &harness::unique("req"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(outcomes[0].pushdown.is_flagged());
    let line = fdw_bridge::report::metric_line(&outcomes[0], 0);
    assert_eq!(line["Flagged"], 1);
    let s = stored(stack, &bad.name, &w).await.unwrap();
    assert!(s.flagged && s.status == "succeeded", "{s:?}");
    assert!(s.remote_sql.iter().any(|q| !q.contains("WHERE")), "{:?}", s.remote_sql);
    assert!(harness::captured_log().contains("pushdown check flagged a foreign scan"));
    stack.delete_link(&link).await;
}

#[tokio::test]
async fn hostile_events_are_refused_and_write_nothing() {
    let stack = harness::Stack::get();
    let _turn = stack.shared().await;
    let f = function(stack, "orders_remote", Catalog::shipped().unwrap()).await;
    let request = harness::unique("hostile");
    let cases = [
        (
            json!({"reports": ["revenue_by_country_segment", "x\"; DROP TABLE users; --"], "scheduledTime": "2026-03-04T06:00:00Z"}),
            vec![
                "unknown report x\"; DROP TABLE users; --",
                "known reports are",
                "revenue_by_country_segment",
                "top_customers_by_spend",
            ],
        ),
        (
            json!({"reports": ["all"], "scheduledTime": "2026-03-04T06:00:00Z",
                "window": {"start": "2026-03-04T00:00:00Z", "end": "2026-03-03T00:00:00Z"}}),
            vec!["window", "is not after its start"],
        ),
        (
            json!({"reports": ["all"], "scheduledTime": "<aws.scheduler.scheduled-time>"}),
            vec!["scheduledTime", "RFC 3339"],
        ),
        (
            json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}),
            vec!["time"],
        ),
        (json!([1, 2]), vec!["not a JSON object"]),
        (json!({"reports": "all"}), vec!["neither \"detail-type\""]),
    ];
    for (event, needles) in cases {
        let e = f.handle(&event, &request).await.expect_err("refused");
        assert!(matches!(e, HandleError::Event(_) | HandleError::Unknown(_)), "{e}");
        let text = e.to_string();
        for n in needles {
            assert!(text.contains(n), "{n:?} not in {text}");
        }
    }
    let a = stack.superuser('a', "users").await;
    let exists: bool = a
        .query_one("SELECT to_regclass('fdw_reports.runs') IS NOT NULL", &[])
        .await
        .unwrap()
        .get(0);
    if exists {
        let written: i64 = a
            .query_one(
                "SELECT count(*) FROM fdw_reports.runs WHERE request_id = $1",
                &[&request],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(written, 0, "a refused event wrote a run record");
    }
}

#[tokio::test]
async fn a_report_over_its_timeout_is_cancelled_on_both_clusters() {
    let stack = harness::Stack::get();
    let _turn = stack.shared().await;
    let link = stack.create_link("report").await;
    // A pushed-down aggregate over a cross join: minutes of work on cluster B.
    let slow = test_report(
        &harness::unique("slow_cross_join"),
        "2s",
        "SELECT count(*) AS n FROM {{remote}}.orders a, {{remote}}.orders b, {{remote}}.order_items c WHERE a.created_at >= $1 AND a.created_at < $2",
    );
    let f = function(
        stack,
        &link.local_schema,
        Catalog::default().with(slow.clone(), "test").unwrap(),
    )
    .await;
    let b = stack.superuser('b', "orders").await;
    let user = link.fdw_user.clone();
    let watcher = tokio::spawn(async move {
        // Proves the query did reach B (the test could not fail otherwise).
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            let n: i64 = b
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity WHERE usename::text = $1::text AND state = 'active'",
                    &[&user],
                )
                .await
                .unwrap()
                .get(0);
            if n > 0 {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    });
    let event = json!({"reports": [slow.name], "scheduledTime": "2026-03-04T06:00:00Z"});
    let started = Instant::now();
    let e = f.handle(&event, &harness::unique("req")).await.expect_err("timed out");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
    assert!(watcher.await.unwrap(), "the query never ran on cluster B");
    let outcome = &e.outcomes()[0];
    assert_eq!(outcome.status, Status::TimedOut, "{:?}", outcome.error);
    assert!(e.to_string().contains("statement timeout"), "{e}");
    let s = stored(stack, &slow.name, &slow.window.before(t("2026-03-04T06:00:00Z")))
        .await
        .unwrap();
    assert_eq!(s.status, "timed_out");
    assert!(s
        .error
        .unwrap()
        .contains("canceling statement due to statement timeout"));
    assert!(s.rows.is_empty());

    // Nothing of it is left running on B.
    let b = stack.superuser('b', "orders").await;
    let mut left: i64 = -1;
    for _ in 0..20 {
        left = b
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE usename::text = $1::text AND state = 'active'",
                &[&link.fdw_user],
            )
            .await
            .unwrap()
            .get(0);
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(left, 0, "the cross join is still running on cluster B");
    stack.delete_link(&link).await;
}
