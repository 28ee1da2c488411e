//! The `Custom::FdwLink` resource properties: parsed and validated before any
//! SQL runs, with every problem named by its property path. Pure: no I/O.
//!
//! CloudFormation sends every scalar as a string ("10000", "true"), so numbers
//! and booleans are accepted either as JSON values or as strings.

use fdw_bridge_link::spec::ImportSpec;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;

/// Where a cluster is and how the function logs in as its admin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterRef {
    /// Writer endpoint host, when given explicitly.
    pub endpoint: Option<String>,
    pub port: Option<u16>,
    /// Aurora cluster identifier, for RDS DescribeDBClusters.
    pub cluster_identifier: Option<String>,
    pub database: String,
    pub admin_secret_arn: String,
    /// Where the foreign server reads: the remote cluster's writer (default) or its readers.
    pub read_from: ReadFrom,
    /// Reader endpoint host, when given explicitly (`ReaderEndpoint`, remote cluster only).
    pub reader_endpoint: Option<String>,
    pub reader_port: Option<u16>,
}

/// `RemoteCluster.ReadFrom`: which instances of the remote cluster the foreign
/// server's queries land on. Role, password and grant changes always go to the writer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReadFrom {
    #[default]
    Writer,
    /// The cluster's reader endpoint: analytical queries never touch the writer,
    /// at the price of the replicas' lag.
    Readers,
}

impl ClusterRef {
    /// How this cluster is named in the PhysicalResourceId: a change here is a new identity.
    pub fn location(&self) -> String {
        match (&self.cluster_identifier, &self.endpoint) {
            (_, Some(host)) => format!("{host}:{}", self.port.unwrap_or(5432)),
            (Some(id), None) => id.clone(),
            (None, None) => format!("secret:{}", self.admin_secret_arn),
        }
    }
}

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

/// `ReportRoles`: the secrets of the report reader and writer roles the link
/// makes on the local cluster, and the local tables the reports read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportRolesRef {
    pub reader_secret_arn: String,
    pub writer_secret_arn: String,
    /// `(schema, table)` on the local cluster the reader may SELECT besides the foreign tables.
    pub read_tables: Vec<(String, String)>,
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
const CLUSTER_KEYS: &[&str] = &["Endpoint", "Port", "ClusterIdentifier", "Database", "AdminSecretArn"];
/// Only the remote cluster is read through the foreign server, so only it may be read from its readers.
const REMOTE_CLUSTER_KEYS: &[&str] = &[
    "Endpoint",
    "Port",
    "ClusterIdentifier",
    "Database",
    "AdminSecretArn",
    "ReadFrom",
    "ReaderEndpoint",
    "ReaderPort",
];
const REPORT_ROLE_KEYS: &[&str] = &["ReaderSecretArn", "WriterSecretArn", "ReadTables"];
const IMPORT_KEYS: &[&str] = &["RemoteSchema", "LocalSchema", "IncludeTables", "ExcludeTables"];

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
    let fdw_connection_limit = top
        .get("FdwConnectionLimit")
        .and_then(|v| scalar_string(v, "FdwConnectionLimit", &mut errors))
        .and_then(|text| match text.trim().parse::<u32>() {
            Ok(n) if (1..=10_000).contains(&n) => Some(n),
            _ => {
                errors.push(format!(
                    "FdwConnectionLimit is {text:?}: expected the number of connections the FDW role may hold on the \
                     remote cluster, from 1 to 10000 (leave it out for a third of the remote cluster's connections)"
                ));
                None
            }
        });
    let local_roles = string_list(top.get("LocalRoles"), "LocalRoles", &mut errors);
    for (i, role) in local_roles.iter().enumerate() {
        identifier(role, &format!("LocalRoles[{i}]"), &mut errors);
        if RESERVED_ROLES.contains(&role.to_ascii_lowercase().as_str()) {
            errors.push(format!(
                "LocalRoles[{i}] is {role:?}, which PostgreSQL reserves: name real roles (a mapping for PUBLIC would let every role use the link)"
            ));
        }
    }
    let imports = imports(top.get("ImportSchemas"), &mut errors);
    let server_options = server_options(top.get("ServerOptions"), &mut errors);
    let report_roles = top.get("ReportRoles").and_then(|v| report_roles(v, &mut errors));
    let lock_timeout = lock_timeout(top.get("LockTimeoutSeconds"), &mut errors);
    let skip_ungrantable = match top
        .get("OnUngrantable")
        .map(|v| scalar_string(v, "OnUngrantable", &mut errors))
    {
        None => true,
        Some(Some(v)) if v.eq_ignore_ascii_case("skip") => true,
        Some(Some(v)) if v.eq_ignore_ascii_case("fail") => false,
        Some(Some(v)) => {
            errors.push(format!("OnUngrantable is {v:?}: expected Skip or Fail"));
            true
        }
        Some(None) => true,
    };

    let server_name = match top.get("ServerName") {
        None => remote
            .as_ref()
            .map(|r| format!("{}_link", r.database))
            .unwrap_or_default(),
        Some(v) => scalar_string(v, "ServerName", &mut errors).unwrap_or_default(),
    };
    if !server_name.is_empty() || top.contains_key("ServerName") {
        identifier(&server_name, "ServerName", &mut errors);
    }

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

fn report_roles(value: &Value, errors: &mut Vec<String>) -> Option<ReportRolesRef> {
    let Some(object) = value.as_object() else {
        errors.push("ReportRoles must be an object with ReaderSecretArn, WriterSecretArn and ReadTables".into());
        return None;
    };
    unknown_keys(object, REPORT_ROLE_KEYS, "ReportRoles", errors);
    let reader = required_string(object, "ReaderSecretArn", "ReportRoles.ReaderSecretArn", errors);
    let writer = required_string(object, "WriterSecretArn", "ReportRoles.WriterSecretArn", errors);
    let mut read_tables = Vec::new();
    for (i, name) in string_list(object.get("ReadTables"), "ReportRoles.ReadTables", errors)
        .into_iter()
        .enumerate()
    {
        let path = format!("ReportRoles.ReadTables[{i}]");
        let (schema, table) = match name.split_once('.') {
            Some((schema, table)) => (schema.to_string(), table.to_string()),
            None => ("public".to_string(), name.clone()),
        };
        identifier(&schema, &path, errors);
        identifier(&table, &path, errors);
        read_tables.push((schema, table));
    }
    if reader.is_some() && reader == writer {
        errors.push(
            "ReportRoles.ReaderSecretArn and ReportRoles.WriterSecretArn are the same secret: the reader only reads, \
             the writer only writes schema fdw_reports"
                .into(),
        );
    }
    Some(ReportRolesRef {
        reader_secret_arn: reader?,
        writer_secret_arn: writer?,
        read_tables,
    })
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

pub(super) fn unknown_keys(object: &Map<String, Value>, known: &[&str], path: &str, errors: &mut Vec<String>) {
    for key in object.keys() {
        if !known.contains(&key.as_str()) {
            let at = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            errors.push(format!("unknown property {at} (known here: {})", known.join(", ")));
        }
    }
}

pub(super) fn cluster(top: &Map<String, Value>, name: &str, errors: &mut Vec<String>) -> Option<ClusterRef> {
    let Some(value) = top.get(name) else {
        errors.push(format!(
            "missing property {name} (an object with Database, AdminSecretArn and Endpoint or ClusterIdentifier)"
        ));
        return None;
    };
    let Some(object) = value.as_object() else {
        errors.push(format!("{name} must be an object"));
        return None;
    };
    let before = errors.len();
    let remote = name == "RemoteCluster";
    unknown_keys(
        object,
        if remote { REMOTE_CLUSTER_KEYS } else { CLUSTER_KEYS },
        name,
        errors,
    );
    let database = required_string(object, "Database", &format!("{name}.Database"), errors);
    if let Some(db) = &database {
        identifier(db, &format!("{name}.Database"), errors);
    }
    let admin_secret_arn = required_string(object, "AdminSecretArn", &format!("{name}.AdminSecretArn"), errors);
    let endpoint = object
        .get("Endpoint")
        .and_then(|v| scalar_string(v, &format!("{name}.Endpoint"), errors));
    if endpoint.as_deref() == Some("") {
        errors.push(format!("{name}.Endpoint is empty"));
    }
    let cluster_identifier = object
        .get("ClusterIdentifier")
        .and_then(|v| scalar_string(v, &format!("{name}.ClusterIdentifier"), errors));
    let port = port(object, name, "Port", errors);
    let (read_from, reader_endpoint, reader_port) = if remote {
        readers(object, name, cluster_identifier.is_some(), errors)
    } else {
        (ReadFrom::Writer, None, None)
    };
    if errors.len() > before {
        return None;
    }
    Some(ClusterRef {
        endpoint,
        port,
        cluster_identifier,
        database: database?,
        admin_secret_arn: admin_secret_arn?,
        read_from,
        reader_endpoint,
        reader_port,
    })
}

fn port(object: &Map<String, Value>, cluster: &str, key: &str, errors: &mut Vec<String>) -> Option<u16> {
    let path = format!("{cluster}.{key}");
    let text = scalar_string(object.get(key)?, &path, errors)?;
    match text.trim().parse::<u16>() {
        Ok(p) if p > 0 => Some(p),
        _ => {
            errors.push(format!("{path} is {text:?}: expected a port number 1-65535"));
            None
        }
    }
}

/// `ReadFrom` and the reader endpoint it needs: given (`ReaderEndpoint`, `ReaderPort`),
/// or the cluster's reader endpoint from RDS (`ClusterIdentifier`).
fn readers(
    object: &Map<String, Value>,
    name: &str,
    has_cluster_identifier: bool,
    errors: &mut Vec<String>,
) -> (ReadFrom, Option<String>, Option<u16>) {
    let read_from = match object
        .get("ReadFrom")
        .map(|v| scalar_string(v, &format!("{name}.ReadFrom"), errors))
    {
        None | Some(None) => ReadFrom::Writer,
        Some(Some(v)) if v.eq_ignore_ascii_case("writer") => ReadFrom::Writer,
        Some(Some(v)) if v.eq_ignore_ascii_case("readers") => ReadFrom::Readers,
        Some(Some(v)) => {
            errors.push(format!(
                "{name}.ReadFrom is {v:?}: expected Writer (the default) or Readers (the cluster's reader endpoint)"
            ));
            ReadFrom::Writer
        }
    };
    let reader_endpoint = object
        .get("ReaderEndpoint")
        .and_then(|v| scalar_string(v, &format!("{name}.ReaderEndpoint"), errors));
    if reader_endpoint.as_deref() == Some("") {
        errors.push(format!("{name}.ReaderEndpoint is empty"));
    }
    let reader_port = port(object, name, "ReaderPort", errors);
    let given = reader_endpoint.is_some() || reader_port.is_some();
    match read_from {
        ReadFrom::Writer if given => errors.push(format!(
            "{name}.ReaderEndpoint or {name}.ReaderPort is set but {name}.ReadFrom is Writer (the default): \
             set ReadFrom: Readers to read from it, or remove them"
        )),
        ReadFrom::Readers if reader_endpoint.is_none() && !has_cluster_identifier => errors.push(format!(
            "{name}.ReadFrom is Readers but there is no reader endpoint to read from: set {name}.ClusterIdentifier \
             (its reader endpoint from RDS DescribeDBClusters) or {name}.ReaderEndpoint"
        )),
        _ => {}
    }
    (read_from, reader_endpoint, reader_port)
}

fn imports(value: Option<&Value>, errors: &mut Vec<String>) -> Vec<ImportSpec> {
    let Some(value) = value else {
        errors.push(
            "missing property ImportSchemas (a list of {RemoteSchema, LocalSchema, IncludeTables?, ExcludeTables?})"
                .into(),
        );
        return Vec::new();
    };
    let Some(list) = value.as_array() else {
        errors.push("ImportSchemas must be a list".into());
        return Vec::new();
    };
    if list.is_empty() {
        errors.push("ImportSchemas is empty: name at least one remote schema to import".into());
    }
    let mut out = Vec::new();
    for (i, item) in list.iter().enumerate() {
        let path = format!("ImportSchemas[{i}]");
        let Some(object) = item.as_object() else {
            errors.push(format!("{path} must be an object"));
            continue;
        };
        unknown_keys(object, IMPORT_KEYS, &path, errors);
        let remote_schema = required_string(object, "RemoteSchema", &format!("{path}.RemoteSchema"), errors);
        let local_schema = required_string(object, "LocalSchema", &format!("{path}.LocalSchema"), errors);
        let include = string_list(object.get("IncludeTables"), &format!("{path}.IncludeTables"), errors);
        let exclude = string_list(object.get("ExcludeTables"), &format!("{path}.ExcludeTables"), errors);
        for (field, names) in [("IncludeTables", &include), ("ExcludeTables", &exclude)] {
            for (j, name) in names.iter().enumerate() {
                identifier(name, &format!("{path}.{field}[{j}]"), errors);
            }
        }
        if let (Some(remote_schema), Some(local_schema)) = (remote_schema, local_schema) {
            identifier(&remote_schema, &format!("{path}.RemoteSchema"), errors);
            identifier(&local_schema, &format!("{path}.LocalSchema"), errors);
            out.push(ImportSpec {
                remote_schema,
                local_schema,
                include,
                exclude,
            });
        }
    }
    out
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

fn required_string(object: &Map<String, Value>, key: &str, path: &str, errors: &mut Vec<String>) -> Option<String> {
    match object.get(key) {
        None => {
            errors.push(format!("missing property {path}"));
            None
        }
        Some(v) => {
            let s = scalar_string(v, path, errors)?;
            if s.is_empty() {
                errors.push(format!("{path} is empty"));
                return None;
            }
            Some(s)
        }
    }
}

pub(super) fn scalar_string(value: &Value, path: &str, errors: &mut Vec<String>) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => {
            errors.push(format!("{path} must be a string"));
            None
        }
    }
}

pub(super) fn string_list(value: Option<&Value>, path: &str, errors: &mut Vec<String>) -> Vec<String> {
    match value {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .filter_map(|(i, v)| scalar_string(v, &format!("{path}[{i}]"), errors))
            .collect(),
        Some(_) => {
            errors.push(format!("{path} must be a list of strings"));
            Vec::new()
        }
    }
}

/// A PostgreSQL name: any text (it is always quoted), but not empty, at most
/// 63 bytes (longer names would be silently truncated) and without NUL.
pub(super) fn identifier(name: &str, path: &str, errors: &mut Vec<String>) {
    if name.is_empty() {
        errors.push(format!("{path} is empty"));
    } else if name.len() > 63 {
        errors.push(format!(
            "{path} is {} bytes long: PostgreSQL names hold at most 63 bytes",
            name.len()
        ));
    } else if name.contains('\0') {
        errors.push(format!("{path} contains a NUL character"));
    }
}

#[cfg(test)]
#[path = "properties_tests.rs"]
mod tests;
