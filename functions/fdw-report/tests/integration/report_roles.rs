//! Reports never run as the master user: the link makes the report reader and
//! writer on cluster A from their own secrets (`ReportRoles`), the reader reads
//! only the foreign tables and the tables the reports read, the writer writes
//! only `fdw_reports`, fdw-report runs with them, and Delete keeps the history.
//! An exclusive turn: it hands schema fdw_reports to the link for a while.

use crate::common::{clear_windows, stored, window};
use fdw_bridge::aws::{RdsEndpointSource, SecretsManager};
use fdw_bridge::report::{Catalog, ReportFunction, ReportSettings, Status};
use fdw_bridge_testkit as harness;
use harness::{remember_secret, unique, Stack};
use serde_json::json;
use std::sync::Arc;

async fn role_secret(stack: &Stack, username: &str, password: &str) -> String {
    remember_secret(password);
    stack
        .put_secret(
            &unique("report-role"),
            json!({"engine": "postgres", "host": "127.0.0.1", "port": stack.port('a'), "dbname": "users",
                   "username": username, "password": password}),
        )
        .await
}

/// What a statement as `client` does: Ok, or the server's SQLSTATE.
async fn attempt(client: &tokio_postgres::Client, sql: &str) -> Result<(), String> {
    client
        .batch_execute(sql)
        .await
        .map_err(|e| e.code().map(|c| c.code().to_string()).unwrap_or_else(|| e.to_string()))
}

#[tokio::test]
async fn the_link_makes_least_privilege_report_roles_and_reports_run_with_them() {
    let stack = Stack::get();
    let _turn = stack.exclusive().await;
    let bootstrap = stack.bootstrap().await;
    let server = unique("rr_link");
    let schema = unique("rr_remote");
    let fdw_user = unique("fdw_rr");
    let fdw_secret = stack.fdw_secret(&fdw_user, "rr-fdw-pw").await;
    let reader = unique("report_r");
    let writer = unique("report_w");
    let reader_secret = role_secret(stack, &reader, "rr-reader-pw'1").await;
    let writer_secret = role_secret(stack, &writer, "rr-writer-pw\\2").await;
    let mut props = stack.properties(&server, &schema, &fdw_secret);
    props["ReportRoles"] = json!({
        "ReaderSecretArn": reader_secret, "WriterSecretArn": writer_secret, "ReadTables": ["public.users"],
    });

    let created = stack.request(&bootstrap, "Create", None, &props).await;
    created.assert_success();
    let id = created.answer.physical_resource_id.clone();

    // The reader: the foreign tables and public.users, read only.
    let r = stack.login('a', "users", &reader, "rr-reader-pw'1").await;
    attempt(&r, &format!("SELECT count(*) FROM \"{schema}\".orders"))
        .await
        .unwrap();
    attempt(&r, "SELECT count(*) FROM public.users").await.unwrap();
    assert_eq!(
        attempt(&r, "UPDATE public.users SET country = country WHERE false").await,
        Err("42501".into())
    );
    assert_eq!(
        attempt(&r, "CREATE TABLE public.rr_x (i int)").await,
        Err("42501".into())
    );
    assert_eq!(
        attempt(&r, "SELECT count(*) FROM fdw_reports.runs").await,
        Err("42501".into())
    );
    // Its own user mapping is there, but the FDW password in it is not readable.
    let mapping: Option<Vec<String>> = r
        .query_one(
            "SELECT umoptions FROM pg_user_mappings WHERE srvname = $1 AND usename = current_user",
            &[&server],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(mapping, None, "a mapped role must not read the mapping's options");
    // The writer: fdw_reports only.
    let w = stack.login('a', "users", &writer, "rr-writer-pw\\2").await;
    assert_eq!(
        attempt(&w, "SELECT count(*) FROM public.users").await,
        Err("42501".into())
    );
    assert_eq!(
        attempt(&w, "CREATE TABLE public.rw_x (i int)").await,
        Err("42501".into())
    );
    assert_eq!(attempt(&w, "CREATE SCHEMA rw_x").await, Err("42501".into()));
    attempt(
        &w,
        "CREATE TABLE fdw_reports.rw_probe (i int); DROP TABLE fdw_reports.rw_probe",
    )
    .await
    .unwrap();

    // fdw-report with those secrets stores a report.
    let env = |k: &str| -> Option<String> {
        match k {
            "FDW_CA_BUNDLE" => Some(stack.var("FDW_CA_BUNDLE").to_string()),
            "FDW_REPORT_READER_SECRET_ARN" => Some(reader_secret.clone()),
            "FDW_REPORT_WRITER_SECRET_ARN" => Some(writer_secret.clone()),
            "FDW_REPORT_SCHEMA" => Some(schema.clone()),
            _ => None,
        }
    };
    let sdk = aws_config::load_from_env().await;
    let f = ReportFunction {
        connector: stack.connector(),
        catalog: Catalog::shipped().unwrap(),
        secrets: Arc::new(SecretsManager::new(aws_sdk_secretsmanager::Client::new(&sdk))),
        endpoints: Arc::new(RdsEndpointSource::new(aws_sdk_rds::Client::new(&sdk))),
        settings: ReportSettings::from_lookup(env).unwrap(),
    };
    let report = Catalog::shipped().unwrap().reports()[0].name.clone();
    let start = format!("20{}-01-01T00:00:00Z", 30 + rand_year());
    let end = start.replace("-01-01", "-01-02");
    // The year is one of 60: an earlier run of the suite on this stack may have stored it.
    clear_windows(stack, &[window(&start, &end)]).await;
    let outcomes = f
        .handle(
            &json!({"reports": [report], "scheduledTime": end, "executionId": unique("rr"),
                    "window": {"start": start, "end": end}}),
            &unique("req"),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(outcomes[0].status, Status::Succeeded, "{:?}", outcomes[0].error);
    let w_ = window(&start, &end);
    assert_eq!(
        stored(stack, &report, &w_).await.expect("run record").status,
        "succeeded"
    );

    // Delete: the roles are gone; the report history stays, owned by the admin.
    let deleted = stack.request(&bootstrap, "Delete", Some(&id), &props).await;
    deleted.assert_success();
    let a = stack.superuser('a', "users").await;
    let left: i64 = a
        .query_one(
            "SELECT count(*) FROM pg_roles WHERE rolname = ANY($1)",
            &[&vec![&reader, &writer]],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "the report roles must be dropped");
    let owner: String = a
        .query_one(
            "SELECT pg_get_userbyid(relowner)::text FROM pg_class WHERE oid = 'fdw_reports.runs'::regclass",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(owner, "users_admin");
    assert!(
        stored(stack, &report, &w_).await.is_some(),
        "the report history must survive Delete"
    );
    harness::assert_link_gone(stack, &server, &schema, &fdw_user).await;
    stack.assert_no_password_leaked();
}

/// A window no other run of the suite uses (the store keeps one result per window).
fn rand_year() -> u32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    10 + nanos % 60
}
