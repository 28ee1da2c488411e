use super::*;
use serde_json::json;

fn valid() -> Value {
    json!({
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:fdw-bootstrap",
        "LocalCluster": {"ClusterIdentifier": "users-cluster", "Database": "users", "AdminSecretArn": "arn:a"},
        "RemoteCluster": {"Endpoint": "db-b.example", "Port": "5432", "Database": "orders", "AdminSecretArn": "arn:b"},
        "FdwRoleSecretArn": "arn:f",
        "LocalRoles": ["report_reader"],
        "ImportSchemas": [{"RemoteSchema": "public", "LocalSchema": "orders_remote", "ExcludeTables": ["secrets"]}],
        "ServerOptions": {"SslRootCert": "/etc/ca.pem", "FetchSize": "5000", "UseRemoteEstimate": "true"}
    })
}

#[test]
fn valid_properties_get_defaults_and_string_values() {
    let p = parse(&valid()).unwrap();
    assert_eq!(p.server_name, "orders_link");
    assert_eq!(p.remote.port, Some(5432));
    assert_eq!(p.local.cluster_identifier.as_deref(), Some("users-cluster"));
    let o = &p.server_options;
    assert_eq!(o["fetch_size"], "5000");
    assert_eq!(o["use_remote_estimate"], "true");
    assert_eq!(o["async_capable"], "true");
    assert_eq!(o["keep_connections"], "on");
    assert_eq!(o["sslmode"], "verify-full");
    assert_eq!(o["sslrootcert"], "/etc/ca.pem");
    assert_eq!(o["fdw_tuple_cost"], "0.2");
    assert!(!o.contains_key("batch_size"));
    assert_eq!(p.physical_id(), "fdw-link/users-cluster/users/orders_link");
}

#[test]
fn every_problem_is_named_by_its_path() {
    let mut v = valid();
    v.as_object_mut().unwrap().remove("FdwRoleSecretArn");
    v["Colour"] = json!("blue");
    v["RemoteCluster"]["Port"] = json!("ninety");
    v["ImportSchemas"][0].as_object_mut().unwrap().remove("LocalSchema");
    v["ServerOptions"]["FetchSize"] = json!("-1");
    v["ServerOptions"]["SslMode"] = json!("disable");
    v["LocalRoles"] = json!(["public"]);
    let text = parse(&v).unwrap_err().to_string();
    for needle in [
        "missing property FdwRoleSecretArn",
        "unknown property Colour (known here: ServiceToken,",
        "RemoteCluster.Port is \"ninety\"",
        "missing property ImportSchemas[0].LocalSchema",
        "ServerOptions.FetchSize is \"-1\"",
        "ServerOptions.SslMode is \"disable\"",
        "LocalRoles[0] is \"public\"",
    ] {
        assert!(text.contains(needle), "{needle:?} not in {text}");
    }
}

#[test]
fn empty_imports_are_refused_and_the_ca_may_be_left_to_detection() {
    let mut v = valid();
    v["ServerOptions"].as_object_mut().unwrap().remove("SslRootCert");
    let p = parse(&v).unwrap();
    assert!(!p.server_options.contains_key("sslrootcert"));
    assert_eq!(p.server_options["sslmode"], "verify-full");
    v["ImportSchemas"] = json!([]);
    let text = parse(&v).unwrap_err().to_string();
    assert!(text.contains("ImportSchemas is empty"), "{text}");
    assert!(parse(&json!("x")).is_err());
}

#[test]
fn hostile_names_are_accepted_verbatim_or_refused_by_length() {
    let mut v = valid();
    v["ServerName"] = json!("x\"; DROP TABLE users; --");
    v["ImportSchemas"][0]["LocalSchema"] = json!("schéma 'quoted'");
    let p = parse(&v).unwrap();
    assert_eq!(p.server_name, "x\"; DROP TABLE users; --");
    assert_eq!(p.imports[0].local_schema, "schéma 'quoted'");

    v["ServerName"] = json!("a".repeat(200));
    let text = parse(&v).unwrap_err().to_string();
    assert!(text.contains("ServerName is 200 bytes long"), "{text}");
    v["ServerName"] = json!("nul\u{0}byte");
    assert!(parse(&v).unwrap_err().to_string().contains("NUL"));
}

#[test]
fn extensions_as_list_or_text() {
    let mut v = valid();
    v["ServerOptions"]["Extensions"] = json!(["pg_trgm", "cube"]);
    assert_eq!(parse(&v).unwrap().server_options["extensions"], "pg_trgm,cube");
    v["ServerOptions"]["Extensions"] = json!("pg_trgm, cube");
    assert_eq!(parse(&v).unwrap().server_options["extensions"], "pg_trgm,cube");
}

#[test]
fn identity_follows_local_cluster_database_and_server() {
    let a = parse(&valid()).unwrap();
    let mut v = valid();
    v["ServerOptions"]["FetchSize"] = json!("100");
    assert_eq!(parse(&v).unwrap().physical_id(), a.physical_id());
    v["ServerName"] = json!("other");
    assert_ne!(parse(&v).unwrap().physical_id(), a.physical_id());
}

#[test]
fn lock_timeout_defaults_to_five_seconds_and_is_bounded() {
    let mut v = valid();
    assert_eq!(parse(&v).unwrap().lock_timeout, std::time::Duration::from_secs(5));
    v["LockTimeoutSeconds"] = json!("30");
    assert_eq!(parse(&v).unwrap().lock_timeout, std::time::Duration::from_secs(30));
    v["LockTimeoutSeconds"] = json!("0");
    let text = parse(&v).unwrap_err().to_string();
    assert!(text.contains("LockTimeoutSeconds is \"0\""), "{text}");
}

#[test]
fn the_remote_cluster_is_read_from_its_writer_unless_readers_are_asked_for() {
    let p = parse(&valid()).unwrap();
    assert_eq!(p.remote.read_from, ReadFrom::Writer);

    let mut v = valid();
    v["RemoteCluster"]["ReadFrom"] = json!("Readers");
    v["RemoteCluster"]["ReaderEndpoint"] = json!("db-b-ro.example");
    v["RemoteCluster"]["ReaderPort"] = json!("6432");
    let p = parse(&v).unwrap();
    assert_eq!(p.remote.read_from, ReadFrom::Readers);
    assert_eq!(
        (p.remote.reader_endpoint.as_deref(), p.remote.reader_port),
        (Some("db-b-ro.example"), Some(6432))
    );
    // Reading elsewhere is not a new identity: an Update moves the foreign server.
    assert_eq!(p.physical_id(), parse(&valid()).unwrap().physical_id());

    let mut v = valid();
    v["RemoteCluster"] = json!({"ClusterIdentifier": "orders-cluster", "Database": "orders",
        "AdminSecretArn": "arn:b", "ReadFrom": "readers"});
    assert_eq!(parse(&v).unwrap().remote.read_from, ReadFrom::Readers);
}

#[test]
fn reader_settings_that_cannot_work_are_refused() {
    let mut v = valid();
    v["RemoteCluster"]["ReadFrom"] = json!("Replicas");
    v["LocalCluster"]["ReadFrom"] = json!("Readers");
    let text = parse(&v).unwrap_err().to_string();
    assert!(
        text.contains("RemoteCluster.ReadFrom is \"Replicas\": expected Writer"),
        "{text}"
    );
    assert!(text.contains("unknown property LocalCluster.ReadFrom"), "{text}");

    let mut v = valid();
    v["RemoteCluster"]["ReaderEndpoint"] = json!("db-b-ro.example");
    let text = parse(&v).unwrap_err().to_string();
    assert!(text.contains("ReadFrom is Writer (the default)"), "{text}");

    // An explicit writer endpoint says nothing about the readers.
    let mut v = valid();
    v["RemoteCluster"]["ReadFrom"] = json!("Readers");
    let text = parse(&v).unwrap_err().to_string();
    assert!(text.contains("no reader endpoint to read from"), "{text}");

    let mut v = valid();
    v["RemoteCluster"]["ReadFrom"] = json!("Readers");
    v["RemoteCluster"]["ReaderEndpoint"] = json!("r");
    v["RemoteCluster"]["ReaderPort"] = json!("0");
    let text = parse(&v).unwrap_err().to_string();
    assert!(text.contains("RemoteCluster.ReaderPort is \"0\""), "{text}");
}

#[test]
fn the_remote_session_plans_cursors_for_every_row_unless_told_otherwise() {
    // Default: B plans postgres_fdw's cursors for all their rows (libpq `options`).
    let p = parse(&valid()).unwrap();
    assert_eq!(p.server_options["options"], "-c cursor_tuple_fraction=1");
    // Overridable, and work_mem joins it.
    let mut v = valid();
    v["ServerOptions"]["RemoteCursorTupleFraction"] = json!("0.1");
    v["ServerOptions"]["RemoteWorkMem"] = json!("64MB");
    let p = parse(&v).unwrap();
    assert_eq!(
        p.server_options["options"],
        "-c cursor_tuple_fraction=0.1 -c work_mem=64MB"
    );
    // Nothing libpq would split or unescape gets through.
    for (property, bad) in [
        ("RemoteCursorTupleFraction", "1.5"),
        ("RemoteCursorTupleFraction", "1 -c work_mem=1GB"),
        ("RemoteCursorTupleFraction", "1e0"),
        ("RemoteWorkMem", "64 MB"),
        ("RemoteWorkMem", "64MB -c statement_timeout=0"),
        ("RemoteWorkMem", "0MB"),
        ("RemoteWorkMem", "lots"),
    ] {
        let mut v = valid();
        v["ServerOptions"][property] = json!(bad);
        let e = parse(&v).unwrap_err().to_string();
        assert!(e.contains(&format!("ServerOptions.{property} is")), "{bad}: {e}");
    }
}
