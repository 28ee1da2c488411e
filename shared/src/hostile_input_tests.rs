//! Hostile input, generated: every decoder of outside data (CloudFormation
//! requests and `Custom::FdwLink` properties, refresh events, schedule events, rotation events,
//! database and rotation secrets, report catalog files, fdw-report's links setting) gets random and
//! near-valid input. None may panic; every refusal is a message a person can
//! read; a password in a secret never appears in the message.
//!
//! Cases per property: `FDW_HOSTILE_CASES` (default 150,000; 9 properties,
//! 1,350,000 cases in all).

use crate::aws::DbSecret;
use crate::bootstrap::{every_property_name, parse_link_properties, Request};
use crate::report::{is_link_name, parse_event as parse_report_event, LinkRef, Report, ReportSettings};
use crate::rotate::{parse_event as parse_rotation_event, RotationSecret};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Map, Value};

fn cases() -> u32 {
    std::env::var("FDW_HOSTILE_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(150_000)
}

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    })
}

/// Text with what breaks parsers and SQL: quotes, backslashes, NUL, dollar
/// quotes, non-ASCII, very long runs.
fn awkward_text() -> BoxedStrategy<String> {
    prop_oneof![
        ".{0,12}",
        "[\"'\\\\$%;:/@?{}\\[\\] \\x00é€😀a-z0-9_-]{0,40}",
        Just(String::new()),
        Just("x\"; DROP TABLE users; --".to_string()),
        Just("$$ $1 {{remote}} ${X}".to_string()),
        (1usize..5000).prop_map(|n| "a".repeat(n)),
    ]
    .boxed()
}

fn scalar() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        awkward_text().prop_map(Value::String),
    ]
    .boxed()
}

/// Any JSON, with keys drawn mostly from the names the decoders look for.
fn any_json(keys: &'static [&'static str]) -> BoxedStrategy<Value> {
    let key = prop_oneof![4 => proptest::sample::select(keys).prop_map(str::to_string), 1 => awkward_text()];
    scalar()
        .prop_recursive(3, 24, 6, move |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                proptest::collection::vec((key.clone(), inner), 0..7)
                    .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<String, Value>>())),
            ]
        })
        .boxed()
}

/// A valid value with some of its fields replaced, removed or added.
fn mutated(valid: Value, keys: &'static [&'static str]) -> BoxedStrategy<Value> {
    let edits = proptest::collection::vec(
        (
            proptest::sample::select(keys),
            prop_oneof![Just(None), any_json(keys).prop_map(Some)],
        ),
        0..4,
    );
    edits
        .prop_map(move |edits| {
            let mut v = valid.clone();
            if let Some(object) = v.as_object_mut() {
                for (k, value) in edits {
                    match value {
                        None => {
                            object.remove(k);
                        }
                        Some(value) => {
                            object.insert(k.to_string(), value);
                        }
                    }
                }
            }
            v
        })
        .boxed()
}

fn readable(message: &str) -> Result<(), TestCaseError> {
    prop_assert!(!message.trim().is_empty(), "an empty refusal");
    Ok(())
}

/// The names `Custom::FdwLink` knows, at any depth: from the validation itself.
fn property_keys() -> &'static [&'static str] {
    static KEYS: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    KEYS.get_or_init(every_property_name)
}

fn valid_properties() -> Value {
    json!({
        "ServiceToken": "arn:aws:lambda:us-east-1:1:function:f",
        "LocalCluster": {"ClusterIdentifier": "users", "Database": "users", "AdminSecretArn": "arn:a"},
        "RemoteCluster": {"Endpoint": "b.example", "Port": "5432", "Database": "orders", "AdminSecretArn": "arn:b"},
        "FdwRoleSecretArn": "arn:f",
        "LocalRoles": ["report_reader"],
        "ImportSchemas": [{"RemoteSchema": "public", "LocalSchema": "orders_remote"}],
        "ServerOptions": {"FetchSize": "10000"},
        "ReportRoles": {"ReaderSecretArn": "arn:r", "WriterSecretArn": "arn:w", "ReadTables": ["public.users"]},
    })
}

#[test]
fn custom_resource_requests_and_properties_never_panic() {
    const KEYS: &[&str] = &[
        "RequestType",
        "ResponseURL",
        "StackId",
        "RequestId",
        "LogicalResourceId",
        "PhysicalResourceId",
        "ResourceType",
        "ResourceProperties",
        "OldResourceProperties",
        "ServiceToken",
    ];
    let valid = json!({
        "RequestType": "Create", "ResponseURL": "http://127.0.0.1:1/r", "StackId": "arn:s",
        "RequestId": "r", "LogicalResourceId": "FdwLink", "ResourceType": "Custom::FdwLink",
        "ServiceToken": "arn:f", "ResourceProperties": valid_properties(),
    });
    let strategy = prop_oneof![mutated(valid, KEYS), any_json(KEYS)];
    runner()
        .run(&strategy, |event| {
            match Request::from_value(event) {
                Ok(request) => {
                    if let Err(e) = parse_link_properties(&request.properties) {
                        readable(&e.to_string())?;
                    }
                }
                Err(unreadable) => readable(&unreadable.reason)?,
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn link_properties_never_panic() {
    let strategy = prop_oneof![mutated(valid_properties(), property_keys()), any_json(property_keys())];
    runner()
        .run(&strategy, |props| {
            if let Err(e) = parse_link_properties(&props) {
                readable(&e.to_string())?;
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn refresh_events_never_panic() {
    const KEYS: &[&str] = &[
        "Action",
        "LocalCluster",
        "ServerNames",
        "DryRun",
        "Endpoint",
        "Port",
        "ClusterIdentifier",
        "Database",
        "AdminSecretArn",
        "RequestType",
    ];
    let valid = json!({"Action": "Refresh", "DryRun": "true", "ServerNames": ["orders_link"],
                       "LocalCluster": {"ClusterIdentifier": "users", "Database": "users", "AdminSecretArn": "arn:a"}});
    let strategy = prop_oneof![mutated(valid, KEYS), any_json(KEYS)];
    runner()
        .run(&strategy, |event| {
            if let Some(Err(e)) = crate::bootstrap::refresh_request(&event) {
                readable(&e)?;
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn schedule_events_never_panic() {
    const KEYS: &[&str] = &[
        "reports",
        "scheduledTime",
        "executionId",
        "window",
        "start",
        "end",
        "detail-type",
        "source",
        "time",
        "detail",
        "id",
        "resources",
        "version",
        "account",
        "region",
    ];
    let rule = json!({"version": "0", "id": "e", "detail-type": "Scheduled Event", "source": "aws.events",
                      "account": "1", "time": "2026-03-04T06:00:00Z", "region": "us-east-1",
                      "resources": [], "detail": {}});
    let scheduler = json!({"reports": ["all"], "scheduledTime": "2026-03-04T06:00:00Z", "executionId": "x",
                           "window": {"start": "2026-03-01T00:00:00Z", "end": "2026-03-02T00:00:00Z"}});
    let strategy = prop_oneof![mutated(rule, KEYS), mutated(scheduler, KEYS), any_json(KEYS)];
    runner()
        .run(&strategy, |event| {
            if let Err(e) = parse_report_event(&event) {
                readable(&e.to_string())?;
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn rotation_events_never_panic() {
    const KEYS: &[&str] = &["Step", "SecretId", "ClientRequestToken", "RotationToken"];
    let valid = json!({"Step": "setSecret", "SecretId": "arn:s", "ClientRequestToken": "t"});
    let strategy = prop_oneof![mutated(valid, KEYS), any_json(KEYS)];
    runner()
        .run(&strategy, |event| {
            if let Err(e) = parse_rotation_event(&event) {
                readable(&e.to_string())?;
            }
            Ok(())
        })
        .unwrap();
}

const SECRET_KEYS: &[&str] = &[
    "engine",
    "host",
    "port",
    "dbname",
    "username",
    "masterarn",
    "local",
    "adminarn",
    "server",
    "strategy",
];

/// A secret's JSON with a distinctive password, the other fields mutated, and
/// sometimes the text cut short (a truncated SecretString).
fn secret_text() -> BoxedStrategy<(String, String)> {
    let valid = json!({
        "engine": "postgres", "host": "b", "port": 5432, "dbname": "orders", "username": "fdw_orders",
        "masterarn": "arn:m", "server": "orders_link",
        "local": {"host": "a", "port": "5432", "dbname": "users", "adminarn": "arn:a"},
    });
    (
        "[A-Za-z0-9]{16}",
        mutated(valid, SECRET_KEYS),
        proptest::option::of(0usize..400),
    )
        .prop_map(|(pw, mut v, cut)| {
            let password = format!("pw-{pw}");
            if let Some(object) = v.as_object_mut() {
                object.insert("password".into(), Value::String(password.clone()));
            }
            let mut text = v.to_string();
            if let Some(cut) = cut {
                let mut at = cut.min(text.len());
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                text.truncate(at);
            }
            (password, text)
        })
        .boxed()
}

/// `parse` on generated secrets: never a panic, and a refusal never shows the password.
fn secrets_never_show_the_password(parse: impl Fn(&str) -> Result<(), String>) {
    runner()
        .run(&secret_text(), |(password, text)| {
            if let Err(message) = parse(&text) {
                readable(&message)?;
                prop_assert!(!message.contains(&password), "the password is in {message:?}");
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn database_secrets_never_panic_nor_show_the_password() {
    secrets_never_show_the_password(|text| DbSecret::parse("arn:secret", text).map(drop).map_err(|e| e.to_string()));
}

#[test]
fn rotation_secrets_never_panic_nor_show_the_password() {
    secrets_never_show_the_password(|text| {
        RotationSecret::parse("arn:secret", "AWSPENDING", text)
            .map(drop)
            .map_err(|e| e.to_string())
    });
}

#[test]
fn report_catalog_files_never_panic() {
    let header = prop_oneof![
        Just("-- name: a_report".to_string()),
        Just("-- description: something".to_string()),
        Just("-- timeout: 30s".to_string()),
        Just("-- window: previous_day".to_string()),
        Just("-- params: window_start, window_end".to_string()),
        awkward_text().prop_map(|t| format!("-- name: {t}")),
        awkward_text().prop_map(|t| format!("-- timeout: {t}")),
        awkward_text().prop_map(|t| format!("-- window: {t}")),
        awkward_text().prop_map(|t| format!("-- params: {t}")),
        awkward_text().prop_map(|t| format!("-- {t}")),
    ];
    let body = prop_oneof![
        Just("SELECT 1 FROM {{remote}}.orders WHERE created_at >= $1 AND created_at < $2".to_string()),
        Just("SELECT 1 FROM {{remote}}.orders o JOIN {{remote:payments}}.payments p USING (user_id)".to_string()),
        awkward_text().prop_map(|t| format!("SELECT 1 FROM {{{{remote:{t}}}}}.x")),
        awkward_text().prop_map(|t| format!("{{{{{t}}}}}")),
        awkward_text(),
    ];
    let file = (
        proptest::collection::vec(header, 0..7),
        proptest::collection::vec(body, 0..3),
        awkward_text(),
    );
    runner()
        .run(&file, |(headers, body, name)| {
            let text = format!("{}\n{}\n", headers.join("\n"), body.join("\n"));
            match Report::parse(&format!("{name}.sql"), &text) {
                Err(e) => readable(&e.to_string())?,
                // An accepted report names only well-formed links, and every
                // placeholder becomes a quoted identifier: no braces are left, and
                // a hostile schema name stays one identifier.
                Ok(report) => {
                    for link in report.links() {
                        if let LinkRef::Named(n) = link {
                            prop_assert!(is_link_name(n), "accepted link name {n:?}");
                        }
                    }
                    let hostile = "x\"; DROP TABLE users; --";
                    let sql = report
                        .sql_for(|_| Some(hostile))
                        .map_err(|l| TestCaseError::fail(format!("{l}")))?;
                    prop_assert!(
                        !sql.contains("{{") && !sql.contains("}}"),
                        "a placeholder is left in {sql:?}"
                    );
                    prop_assert!(
                        sql.matches("\"x\"\"; DROP TABLE users; --\"").count() >= report.links().len(),
                        "a schema is not quoted in {sql:?}"
                    );
                }
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn report_links_settings_never_panic() {
    const KEYS: &[&str] = &["payments", "crm", "Payments", "", "schema", "remote_slots", "slots"];
    let valid = json!({"payments": {"schema": "payments_remote", "remote_slots": 4}, "crm": {"schema": "crm_remote"}});
    let one = (awkward_text(), awkward_text(), any::<i64>())
        .prop_map(|(name, schema, slots)| json!({ name: {"schema": schema, "remote_slots": slots} }).to_string());
    let strategy = prop_oneof![
        mutated(valid, KEYS).prop_map(|v| v.to_string()),
        any_json(KEYS).prop_map(|v| v.to_string()),
        one,
        awkward_text(),
    ];
    runner()
        .run(&strategy, |text| {
            let settings = ReportSettings::from_lookup(|k| match k {
                "FDW_CA_BUNDLE" => Some("/ca".into()),
                "FDW_REPORT_READER_SECRET_ARN" => Some("arn:r".into()),
                "FDW_REPORT_WRITER_SECRET_ARN" => Some("arn:w".into()),
                "FDW_REPORT_LINKS" => Some(text.clone()),
                _ => None,
            });
            match settings {
                Err(e) => readable(&e.to_string())?,
                Ok(s) => {
                    for (name, link) in &s.links {
                        prop_assert!(is_link_name(name), "accepted link name {name:?}");
                        prop_assert!(
                            !link.schema.is_empty() && link.schema.len() <= 63 && !link.schema.contains('\0'),
                            "accepted schema {:?}",
                            link.schema
                        );
                        prop_assert!((1..=1000).contains(&link.remote_slots));
                        prop_assert!(link.schema != s.schema, "a named link took the function's own schema");
                    }
                }
            }
            Ok(())
        })
        .unwrap();
}
