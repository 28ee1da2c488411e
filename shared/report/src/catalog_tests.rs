//! The catalog parser and the shipped catalog (no server needed).

use super::catalog::{Catalog, CatalogError, LinkRef, Param, Report, REMOTE_PLACEHOLDER};
use super::shipped::SHIPPED;
use super::window::WindowKind;
use std::time::Duration;

const GOOD: &str = "-- name: r1
-- description: d
-- timeout: 1500ms
-- window: previous_hour
-- params: window_start, window_end
--
-- free text: with a colon after the header
SELECT count(*) FROM {{remote}}.orders WHERE created_at >= $1 AND created_at < $2;
";

#[test]
fn parses_header_and_quotes_the_schema() {
    let r = Report::parse("r1.sql", GOOD).unwrap();
    assert_eq!(r.name, "r1");
    assert_eq!(r.timeout, Duration::from_millis(1500));
    assert_eq!(r.window, WindowKind::Hour);
    assert_eq!(r.params, vec![Param::WindowStart, Param::WindowEnd]);
    assert!(r.uses_remote());
    let sql = r.sql(r#"x"; DROP TABLE users; --"#);
    assert!(sql.contains(r#"FROM "x""; DROP TABLE users; --".orders"#), "{sql}");
    assert!(!sql.contains(REMOTE_PLACEHOLDER) && !sql.ends_with(';'));
}

fn error_of(text: &str) -> String {
    match Report::parse("bad.sql", text) {
        Err(CatalogError::Invalid { file, reason }) => {
            assert_eq!(file, "bad.sql");
            reason
        }
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn refuses_what_it_cannot_run_safely() {
    let with = |from: &str, to: &str| GOOD.replace(from, to);
    assert!(error_of(&with("{{remote}}.orders", "{{schema}}.orders")).contains("unknown placeholder"));
    assert!(error_of(&with("{{remote}}.orders", "{{remote}}.orders, {{ remote }}.x")).contains("unknown placeholder"));
    for bad in [
        "{{remote:}}",
        "{{remote:Payments}}",
        "{{remote:1x}}",
        "{{remote: payments}}",
        "{{remote:pay-ments}}",
        "{{remote:payments",
        "{{remote:\"x\"; DROP TABLE users; --}}",
        "{{remote:payments}}}}",
        "}}{{remote}}",
        "{{{{remote}}}}",
    ] {
        let e = error_of(&with("{{remote}}.orders", &format!("{bad}.orders")));
        assert!(
            e.contains("unknown placeholder") && e.contains("{{remote:<link name>}}"),
            "{bad}: {e}"
        );
    }
    let long = format!("{{{{remote:{}}}}}.orders", "a".repeat(64));
    assert!(error_of(&with("{{remote}}.orders", &long)).contains("unknown placeholder"));
    assert!(error_of(&with("AND created_at < $2", "AND created_at < $3")).contains("$3"));
    assert!(error_of(&with("-- params: window_start, window_end", "-- params: window_start")).contains("$2"));
    assert!(error_of(&with("-- params: window_start, window_end", "-- params: start")).contains("start"));
    assert!(error_of(&with("1500ms", "1h")).contains("timeout"));
    assert!(error_of(&with("1500ms", "0s")).contains("between"));
    assert!(error_of(&with("1500ms", "16min")).contains("between"));
    assert!(error_of(&with("previous_hour", "previous_month")).contains("previous_day"));
    assert!(error_of(&with("-- name: r1", "-- name: R 1")).contains("a-z"));
    assert!(error_of(&with("-- description: d\n", "")).contains("description"));
    assert!(error_of(&with("-- window:", "-- windw:")).contains("unknown header key"));
    assert!(
        error_of("-- name: x\n-- description: d\n-- timeout: 1s\n-- window: previous_day\n-- params:\n")
            .contains("no SQL")
    );
}

#[test]
fn named_links_get_their_own_schema_and_old_reports_are_unchanged() {
    let text = GOOD.replace(
        "FROM {{remote}}.orders",
        "FROM {{remote}}.orders o JOIN {{remote:payments}}.payments p USING (user_id) JOIN {{remote:crm_2}}.c USING (user_id) JOIN {{remote:payments}}.refunds USING (user_id)",
    );
    let r = Report::parse("r1.sql", &text).unwrap();
    assert_eq!(
        r.links(),
        [
            LinkRef::Default,
            LinkRef::Named("crm_2".into()),
            LinkRef::Named("payments".into())
        ]
    );
    let sql = r
        .sql_for(|l| match l {
            LinkRef::Default => Some("orders_remote"),
            LinkRef::Named(n) if n == "payments" => Some(r#"pay"; DROP TABLE users; --"#),
            LinkRef::Named(_) => Some("crm"),
        })
        .unwrap();
    assert!(
        sql.contains(r#"FROM "orders_remote".orders o JOIN "pay""; DROP TABLE users; --".payments p USING (user_id) JOIN "crm".c"#)
            && sql.contains(r#"JOIN "pay""; DROP TABLE users; --".refunds"#),
        "{sql}"
    );
    // The first link (in the text) that the caller does not know is the error.
    assert_eq!(
        r.sql_for(|l| (l == &LinkRef::Default).then_some("o")),
        Err(LinkRef::Named("payments".into()))
    );
    // One schema for every link: the co-located copies.
    assert_eq!(r.sql("public").matches("\"public\".").count(), 4);
    assert_eq!(LinkRef::Named("payments".into()).placeholder(), "{{remote:payments}}");
    // A report of the function's link alone renders as before: every {{remote}} replaced, nothing else touched.
    let old = Report::parse("r1.sql", GOOD).unwrap();
    assert_eq!(old.links(), [LinkRef::Default]);
    let body = GOOD[GOOD.find("--\n-- free text").unwrap()..]
        .trim()
        .trim_end_matches(';');
    assert_eq!(old.sql("o"), body.replace(REMOTE_PLACEHOLDER, "\"o\""));
    assert_eq!(old.sql_for(|_| Some("o")).unwrap(), old.sql("o"));
    // A report of cluster A alone reads through no link.
    let local = Report::parse("r1.sql", &GOOD.replace("{{remote}}.orders", "public.users")).unwrap();
    assert!(!local.uses_remote() && local.links().is_empty());
}

#[test]
fn catalog_refuses_duplicates_and_misnamed_files() {
    let e = Catalog::from_files(&[("other.sql", GOOD)]).unwrap_err();
    assert!(e.to_string().contains("r1.sql"), "{e}");
    let r = Report::parse("r1.sql", GOOD).unwrap();
    let e = Catalog::from_files(&[("r1.sql", GOOD)])
        .unwrap()
        .with(r, "test")
        .unwrap_err();
    assert!(matches!(e, CatalogError::Duplicate { .. }));
}

#[test]
fn unknown_names_list_the_known_ones() {
    let c = Catalog::shipped().unwrap();
    let e = c
        .select(Some(&["nope".to_string(), "revenue_by_country_segment".into()]))
        .unwrap_err();
    let text = e.to_string();
    assert!(text.starts_with("unknown report nope: known reports are "), "{text}");
    for name in c.names() {
        assert!(text.contains(&name));
    }
    assert_eq!(c.select(None).unwrap().len(), c.reports().len());
    let one = c.select(Some(&["top_customers_by_spend".to_string()])).unwrap();
    assert_eq!(one.len(), 1);
}

#[test]
fn shipped_catalog_is_the_reports_directory() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../reports");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".sql"))
        .collect();
    on_disk.sort();
    let listed: Vec<String> = SHIPPED.iter().map(|(f, _)| f.to_string()).collect();
    assert_eq!(
        listed, on_disk,
        "shared/report/src/shipped.rs must list every file in reports/"
    );
    let c = Catalog::shipped().unwrap();
    assert!(c.reports().len() >= 4);
    assert!(
        c.reports().iter().any(|r| r.links().len() > 1),
        "a shipped report joins more than one link"
    );
    for r in c.reports() {
        assert!(r.uses_remote(), "{} does not read through the link", r.name);
        assert!(
            r.links().contains(&LinkRef::Default),
            "{}: every shipped report reads the function's own link ({{{{remote}}}})",
            r.name
        );
        assert_eq!(r.params, vec![Param::WindowStart, Param::WindowEnd], "{}", r.name);
        // Windows are bound parameters: a STABLE now() is never shipped by postgres_fdw.
        let sql = r.sql("s").to_lowercase();
        for f in [
            "now()",
            "current_timestamp",
            "current_date",
            "localtimestamp",
            "clock_timestamp",
        ] {
            assert!(!sql.contains(f), "{} uses {f}", r.name);
        }
    }
}
