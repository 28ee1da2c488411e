//! `LocalCluster` and `RemoteCluster`: where a cluster is, how the function
//! logs in as its admin, and (the remote cluster only) whether the link reads from its readers.

use super::values::{identifier, required_string, scalar_string, unknown_keys};
use serde_json::{Map, Value};

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
            (_, Some(host)) => format!("{host}:{}", self.port.unwrap_or(fdw_bridge_pg::DEFAULT_PORT)),
            (Some(id), None) => id.clone(),
            (None, None) => format!("secret:{}", self.admin_secret_arn),
        }
    }
}

const CLUSTER_KEYS: &[&str] = &["Endpoint", "Port", "ClusterIdentifier", "Database", "AdminSecretArn"];
/// Only the remote cluster is read through the foreign server, so only it may be read from its readers.
pub(super) const REMOTE_CLUSTER_KEYS: &[&str] = &[
    "Endpoint",
    "Port",
    "ClusterIdentifier",
    "Database",
    "AdminSecretArn",
    "ReadFrom",
    "ReaderEndpoint",
    "ReaderPort",
];

pub(crate) fn cluster(top: &Map<String, Value>, name: &str, errors: &mut Vec<String>) -> Option<ClusterRef> {
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
