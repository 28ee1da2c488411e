//! The `Custom::FdwLink` resource properties: parsed and validated before any
//! SQL runs, with every problem named by its property path. Pure: no I/O.
//!
//! CloudFormation sends every scalar as a string ("10000", "true"), so numbers
//! and booleans are accepted either as JSON values or as strings.

use fdw_bridge_link::spec::ImportSpec;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;

mod clusters;
mod imports;
mod report_roles;
mod values;

pub(crate) use clusters::cluster;
use clusters::REMOTE_CLUSTER_KEYS;
pub use clusters::{ClusterRef, ReadFrom};
use imports::{imports, IMPORT_KEYS};
pub use report_roles::ReportRolesRef;
use report_roles::{report_roles, REPORT_ROLE_KEYS};
use values::required_string;
pub(crate) use values::{identifier, scalar_string, string_list, unknown_keys};

/// The validated properties of one FDW link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkProperties {
    pub server_name: String,
    pub local: ClusterRef,
    pub remote: ClusterRef,
    pub fdw_role_secret_arn: String,
    /// `CONNECTION LIMIT` of the FDW role (and its clone) on the remote cluster;
    /// None: a share of the remote cluster's connections (link::plan::remote).
    pub fdw_connection_limit: Option<u32>,
    pub local_roles: Vec<String>,
    pub imports: Vec<ImportSpec>,
    /// postgres_fdw server options (lowercase names), defaults filled in.
    pub server_options: BTreeMap<String, String>,
    /// How long one DDL statement waits for a lock (`LockTimeoutSeconds`, default 5).
    pub lock_timeout: std::time::Duration,
    /// `OnUngrantable: Skip` (default) leaves out remote tables the admin may not
    /// grant SELECT on and reports them; `Fail` refuses them.
    pub skip_ungrantable: bool,
    /// The roles fdw-report logs in as, made on the local cluster by the link.
    pub report_roles: Option<ReportRolesRef>,
}

impl LinkProperties {
    /// The resource's identity: a different one on Update means replacement.
    pub fn physical_id(&self) -> String {
        format!(
            "fdw-link/{}/{}/{}",
            self.local.location(),
            self.local.database,
            self.server_name
        )
    }
}

/// Every problem found in the properties, one per line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PropertyErrors(pub Vec<String>);

impl fmt::Display for PropertyErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid Custom::FdwLink properties: {}", self.0.join("; "))
    }
}

impl std::error::Error for PropertyErrors {}

const TOP_LEVEL: &[&str] = &[
    "ServiceToken",
    // CloudFormation's own custom-resource property (seconds until it stops waiting); it arrives
    // in ResourceProperties like ServiceToken. Accepted, not used.
    "ServiceTimeout",
    "ServerName",
    "LocalCluster",
    "RemoteCluster",
    "FdwRoleSecretArn",
    "FdwConnectionLimit",
    "LocalRoles",
    "ImportSchemas",
    "ServerOptions",
    "ReportRoles",
    "LockTimeoutSeconds",
    "OnUngrantable",
];

/// One server option: property name, postgres_fdw option, kind, default.
struct OptionDef {
    property: &'static str,
    option: &'static str,
    kind: OptionKind,
    default: Option<&'static str>,
}

#[derive(Clone, Copy)]
enum OptionKind {
    PositiveInt,
    Cost,
    Bool,
    /// Seconds; libpq treats values below 2 as 2.
    Timeout,
    SslMode,
    Path,
    Extensions,
    /// A setting of the remote session (a number from 0 to 1), sent as `-c name=value` in
    /// libpq's `options` (see [`REMOTE_SESSION_OPTION`]).
    RemoteFraction,
    /// A setting of the remote session in memory units (`64MB`), likewise.
    RemoteMemory,
}

/// The postgres_fdw server option (libpq's `options`) that carries the remote session's
/// settings: `-c cursor_tuple_fraction=1 -c work_mem=64MB`.
pub const REMOTE_SESSION_OPTION: &str = "options";

impl OptionKind {
    fn is_remote_setting(self) -> bool {
        matches!(self, OptionKind::RemoteFraction | OptionKind::RemoteMemory)
    }
}

/// Tuned defaults: fetch_size 10000 (the default 100 means 10,000 round trips per
/// million rows), fdw_tuple_cost 0.2 (PostgreSQL 17's value; 0.01 keeps aggregates
/// local), async_capable for parallel foreign scans, verify-full TLS, and the remote
/// session's cursor_tuple_fraction 1 (postgres_fdw reads every row of its cursors, so B
/// should plan them for all rows, not the first 10 %). Each measured with `make
/// bench-options` (docs/fdw-link.md, "Values and defaults").
const SERVER_OPTIONS: &[OptionDef] = &[
    OptionDef {
        property: "FetchSize",
        option: "fetch_size",
        kind: OptionKind::PositiveInt,
        default: Some("10000"),
    },
    OptionDef {
        property: "BatchSize",
        option: "batch_size",
        kind: OptionKind::PositiveInt,
        default: None,
    },
    OptionDef {
        property: "UseRemoteEstimate",
        option: "use_remote_estimate",
        kind: OptionKind::Bool,
        default: Some("false"),
    },
    OptionDef {
        property: "AsyncCapable",
        option: "async_capable",
        kind: OptionKind::Bool,
        default: Some("true"),
    },
    OptionDef {
        property: "KeepConnections",
        option: "keep_connections",
        kind: OptionKind::Bool,
        default: Some("on"),
    },
    OptionDef {
        property: "Extensions",
        option: "extensions",
        kind: OptionKind::Extensions,
        default: None,
    },
    OptionDef {
        property: "FdwStartupCost",
        option: "fdw_startup_cost",
        kind: OptionKind::Cost,
        default: None,
    },
    OptionDef {
        property: "FdwTupleCost",
        option: "fdw_tuple_cost",
        kind: OptionKind::Cost,
        default: Some("0.2"),
    },
    OptionDef {
        property: "SslMode",
        option: "sslmode",
        kind: OptionKind::SslMode,
        default: Some("verify-full"),
    },
    OptionDef {
        property: "SslRootCert",
        option: "sslrootcert",
        kind: OptionKind::Path,
        default: None,
    },
    OptionDef {
        property: "ConnectTimeout",
        option: "connect_timeout",
        kind: OptionKind::Timeout,
        default: Some("10"),
    },
    OptionDef {
        property: "RemoteCursorTupleFraction",
        option: "cursor_tuple_fraction",
        kind: OptionKind::RemoteFraction,
        default: Some("1"),
    },
    OptionDef {
        property: "RemoteWorkMem",
        option: "work_mem",
        kind: OptionKind::RemoteMemory,
        default: None,
    },
];

/// Names PostgreSQL would take as a role but that mean something else in SQL.
const RESERVED_ROLES: &[&str] = &["public", "current_user", "current_role", "session_user", "none"];

/// Every property name, at any depth (for tests that generate properties).
pub fn every_property_name() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = [TOP_LEVEL, REMOTE_CLUSTER_KEYS, IMPORT_KEYS, REPORT_ROLE_KEYS].concat();
    names.extend(SERVER_OPTIONS.iter().map(|d| d.property));
    names
}

/// Parses and validates the properties, collecting every problem.
pub fn parse(properties: &Value) -> Result<LinkProperties, PropertyErrors> {
    let mut errors = Vec::new();
    let Some(top) = properties.as_object() else {
        return Err(PropertyErrors(vec!["ResourceProperties must be an object".into()]));
    };
    unknown_keys(top, TOP_LEVEL, "", &mut errors);

    let local = cluster(top, "LocalCluster", &mut errors);
    let remote = cluster(top, "RemoteCluster", &mut errors);
    let fdw_role_secret_arn = required_string(top, "FdwRoleSecretArn", "FdwRoleSecretArn", &mut errors);
    let fdw_connection_limit = fdw_connection_limit(top, &mut errors);
    let local_roles = local_roles(top, &mut errors);
    let imports = imports(top.get("ImportSchemas"), &mut errors);
    let server_options = server_options(top.get("ServerOptions"), &mut errors);
    let report_roles = top.get("ReportRoles").and_then(|v| report_roles(v, &mut errors));
    let lock_timeout = lock_timeout(top.get("LockTimeoutSeconds"), &mut errors);
    let skip_ungrantable = skip_ungrantable(top, &mut errors);
    let server_name = server_name(top, remote.as_ref(), &mut errors);

    match (local, remote, fdw_role_secret_arn) {
        (Some(local), Some(remote), Some(fdw_role_secret_arn)) if errors.is_empty() => Ok(LinkProperties {
            server_name,
            local,
            remote,
            fdw_role_secret_arn,
            fdw_connection_limit,
            local_roles,
            imports,
            server_options,
            report_roles,
            lock_timeout,
            skip_ungrantable,
        }),
        _ => Err(PropertyErrors(errors)),
    }
}

/// `FdwConnectionLimit`: from 1 to 10000, or none (a share of the remote cluster's connections).
fn fdw_connection_limit(top: &Map<String, Value>, errors: &mut Vec<String>) -> Option<u32> {
    top.get("FdwConnectionLimit")
        .and_then(|v| scalar_string(v, "FdwConnectionLimit", errors))
        .and_then(|text| match text.trim().parse::<u32>() {
            Ok(n) if (1..=10_000).contains(&n) => Some(n),
            _ => {
                errors.push(format!(
                    "FdwConnectionLimit is {text:?}: expected the number of connections the FDW role may hold on the \
                     remote cluster, from 1 to 10000 (leave it out for a third of the remote cluster's connections)"
                ));
                None
            }
        })
}

/// `LocalRoles`: PostgreSQL names, none of them a reserved word.
fn local_roles(top: &Map<String, Value>, errors: &mut Vec<String>) -> Vec<String> {
    let local_roles = string_list(top.get("LocalRoles"), "LocalRoles", errors);
    for (i, role) in local_roles.iter().enumerate() {
        identifier(role, &format!("LocalRoles[{i}]"), errors);
        if RESERVED_ROLES.contains(&role.to_ascii_lowercase().as_str()) {
            errors.push(format!(
                "LocalRoles[{i}] is {role:?}, which PostgreSQL reserves: name real roles (a mapping for PUBLIC would let every role use the link)"
            ));
        }
    }
    local_roles
}

/// `OnUngrantable`: Skip (the default) or Fail.
fn skip_ungrantable(top: &Map<String, Value>, errors: &mut Vec<String>) -> bool {
    match top
        .get("OnUngrantable")
        .map(|v| scalar_string(v, "OnUngrantable", errors))
    {
        None => true,
        Some(Some(v)) if v.eq_ignore_ascii_case("skip") => true,
        Some(Some(v)) if v.eq_ignore_ascii_case("fail") => false,
        Some(Some(v)) => {
            errors.push(format!("OnUngrantable is {v:?}: expected Skip or Fail"));
            true
        }
        Some(None) => true,
    }
}

/// `ServerName`, else `<remote database>_link`.
fn server_name(top: &Map<String, Value>, remote: Option<&ClusterRef>, errors: &mut Vec<String>) -> String {
    let server_name = match top.get("ServerName") {
        None => remote.map(|r| format!("{}_link", r.database)).unwrap_or_default(),
        Some(v) => scalar_string(v, "ServerName", errors).unwrap_or_default(),
    };
    if !server_name.is_empty() || top.contains_key("ServerName") {
        identifier(&server_name, "ServerName", errors);
    }
    server_name
}

/// Whole seconds from 1 to 300; the default is the pg layer's.
fn lock_timeout(value: Option<&Value>, errors: &mut Vec<String>) -> std::time::Duration {
    let Some(value) = value else {
        return fdw_bridge_pg::DEFAULT_LOCK_TIMEOUT;
    };
    let text = scalar_string(value, "LockTimeoutSeconds", errors).unwrap_or_default();
    match text.trim().parse::<u64>() {
        Ok(n) if (1..=300).contains(&n) => std::time::Duration::from_secs(n),
        _ => {
            errors.push(format!(
                "LockTimeoutSeconds is {text:?}: expected whole seconds from 1 to 300 (how long a DDL statement waits for a lock)"
            ));
            fdw_bridge_pg::DEFAULT_LOCK_TIMEOUT
        }
    }
}

fn server_options(value: Option<&Value>, errors: &mut Vec<String>) -> BTreeMap<String, String> {
    let empty = Map::new();
    let object = match value {
        None => &empty,
        Some(Value::Object(o)) => o,
        Some(_) => {
            errors.push("ServerOptions must be an object".into());
            &empty
        }
    };
    let known: Vec<&str> = SERVER_OPTIONS.iter().map(|d| d.property).collect();
    unknown_keys(object, &known, "ServerOptions", errors);
    let mut out = BTreeMap::new();
    let mut remote_settings = Vec::new();
    for def in SERVER_OPTIONS {
        let path = format!("ServerOptions.{}", def.property);
        let given = match object.get(def.property) {
            Some(Value::Array(items)) if matches!(def.kind, OptionKind::Extensions) => {
                let names = string_list(Some(&Value::Array(items.clone())), &path, errors);
                Some(names.join(","))
            }
            Some(v) => scalar_string(v, &path, errors),
            None => None,
        };
        // SslRootCert, when not given, is found on the local cluster (link::remote_ca).
        let Some(text) = given.or_else(|| def.default.map(str::to_string)) else {
            continue;
        };
        match option_value(def, text.trim(), &path, errors) {
            Some(value) if def.kind.is_remote_setting() => remote_settings.push(format!("-c {}={value}", def.option)),
            Some(value) => {
                out.insert(def.option.to_string(), value);
            }
            None => {}
        }
    }
    if !remote_settings.is_empty() {
        out.insert(REMOTE_SESSION_OPTION.to_string(), remote_settings.join(" "));
    }
    out
}

fn option_value(def: &OptionDef, text: &str, path: &str, errors: &mut Vec<String>) -> Option<String> {
    let bad = |errors: &mut Vec<String>, expected: &str| {
        errors.push(format!("{path} is {text:?}: expected {expected}"));
        None
    };
    match def.kind {
        OptionKind::PositiveInt => match text.parse::<u32>() {
            Ok(n) if n > 0 => Some(n.to_string()),
            _ => bad(errors, "a whole number above 0"),
        },
        OptionKind::Timeout => match text.parse::<u32>() {
            Ok(n) if (2..=300).contains(&n) => Some(n.to_string()),
            _ => bad(errors, "whole seconds from 2 to 300"),
        },
        OptionKind::Cost => match text.parse::<f64>() {
            Ok(n) if n.is_finite() && n >= 0.0 => Some(text.to_string()),
            _ => bad(errors, "a number of 0 or more"),
        },
        OptionKind::Bool => match text.to_ascii_lowercase().as_str() {
            "true" | "on" | "yes" => Some(if def.option == "keep_connections" { "on" } else { "true" }.into()),
            "false" | "off" | "no" => Some(
                if def.option == "keep_connections" {
                    "off"
                } else {
                    "false"
                }
                .into(),
            ),
            _ => bad(errors, "true or false"),
        },
        OptionKind::SslMode => match text {
            "verify-full" | "verify-ca" => Some(text.to_string()),
            _ => bad(
                errors,
                "verify-full or verify-ca (weaker modes would let the link talk to an impostor)",
            ),
        },
        OptionKind::Path => {
            if text.is_empty() || text.contains('\0') {
                bad(errors, "a file path")
            } else {
                Some(text.to_string())
            }
        }
        // Only digits, a point and a unit: nothing that libpq's `options` would split or unescape.
        OptionKind::RemoteFraction => match text.parse::<f64>() {
            Ok(n) if (0.0..=1.0).contains(&n) && text.bytes().all(|b| b.is_ascii_digit() || b == b'.') => {
                Some(text.to_string())
            }
            _ => bad(errors, "a number from 0 to 1"),
        },
        OptionKind::RemoteMemory => {
            let digits = text.bytes().take_while(u8::is_ascii_digit).count();
            let (number, unit) = text.split_at(digits);
            match (number.parse::<u32>(), unit) {
                (Ok(n), "kB" | "MB" | "GB") if n > 0 => Some(text.to_string()),
                _ => bad(
                    errors,
                    "an amount of memory such as 64MB (a whole number and kB, MB or GB)",
                ),
            }
        }
        OptionKind::Extensions => {
            let names: Vec<&str> = text.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
            for n in &names {
                identifier(n, path, errors);
            }
            Some(names.join(","))
        }
    }
}

#[cfg(test)]
mod tests {
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
}
