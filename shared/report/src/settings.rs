//! fdw-report's settings, read once from its environment at cold start.

use super::catalog::is_link_name;
use super::pushdown::DEFAULT_ROWS_THRESHOLD;
use fdw_bridge_pg::Endpoint;
use fdw_bridge_runtime::settings::{ConnectSettings, ConnectSettingsError};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// Report sessions on cluster B shared by all invocations: at B's smallest
/// sizes (max_connections 50, a link budget of 15) it leaves the budget room
/// for interactive sessions; raise it with B.
pub const DEFAULT_REMOTE_SLOTS: u32 = 8;

#[derive(Clone, Debug, PartialEq)]
pub struct ReportSettings {
    /// CA bundle that verifies the cluster's certificates (FDW_CA_BUNDLE).
    pub ca_bundle: PathBuf,
    /// Bound on connecting (FDW_CONNECT_TIMEOUT_SECONDS).
    pub connect_timeout: Duration,
    /// Secret of the read-only report role (FDW_REPORT_READER_SECRET_ARN).
    pub reader_secret_arn: String,
    /// Secret of the role that writes `fdw_reports` (FDW_REPORT_WRITER_SECRET_ARN).
    pub writer_secret_arn: String,
    /// Database on the local cluster (FDW_REPORT_DATABASE; default: the reader secret's dbname, else `users`).
    pub database: Option<String>,
    /// Cluster A's identifier (FDW_REPORT_CLUSTER_ID): reader and writer endpoints from RDS.
    pub cluster_id: Option<String>,
    /// Explicit endpoints (FDW_REPORT_READER_ENDPOINT, FDW_REPORT_WRITER_ENDPOINT: `host` or `host:port`).
    pub reader_endpoint: Option<Endpoint>,
    pub writer_endpoint: Option<Endpoint>,
    /// The link's local schema holding the foreign tables (FDW_REPORT_SCHEMA, default `orders_remote`).
    pub schema: String,
    /// Reports running at once (FDW_REPORT_CONCURRENCY, default 4).
    pub concurrency: usize,
    /// Rows crossing the link above which the advice on a foreign scan flags the run (FDW_REPORT_PUSHDOWN_ROWS).
    pub pushdown_rows: f64,
    /// Report sessions on cluster B at once across every invocation (FDW_REPORT_REMOTE_SLOTS, default 8).
    pub remote_slots: u32,
    /// The function's other links, by the name reports give them in `{{remote:<name>}}`
    /// (FDW_REPORT_LINKS, a JSON object; empty by default).
    pub links: BTreeMap<String, NamedLink>,
}

/// A link a report names as `{{remote:<name>}}`: where its foreign tables are on
/// cluster A and its report budget on its own remote cluster.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedLink {
    /// The link's local schema on cluster A.
    pub schema: String,
    /// Report sessions on this link's remote cluster at once across every invocation (default 8).
    #[serde(default = "default_remote_slots")]
    pub remote_slots: u32,
}

fn default_remote_slots() -> u32 {
    DEFAULT_REMOTE_SLOTS
}

/// What FDW_REPORT_LINKS looks like, for its errors.
const LINKS_SHAPE: &str =
    "a JSON object of links by name, e.g. {\"payments\": {\"schema\": \"payments_remote\", \"remote_slots\": 8}} \
     (the name is what reports write in {{remote:payments}}; remote_slots is optional, default 8)";

#[derive(Debug, thiserror::Error)]
pub enum ReportSettingsError {
    #[error(transparent)]
    Connect(#[from] ConnectSettingsError),
    #[error("environment variable {0} is not set: give it the ARN of {1}")]
    Missing(&'static str, &'static str),
    #[error("environment variable FDW_REPORT_LINKS: {0}; expected {LINKS_SHAPE}")]
    Links(String),
    #[error("environment variable {name} is {value:?}: {expected}")]
    Invalid {
        name: &'static str,
        value: String,
        expected: &'static str,
    },
}

impl ReportSettings {
    pub fn from_env() -> Result<Self, ReportSettingsError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ReportSettingsError> {
        let connect = ConnectSettings::from_lookup(&get)?;
        let get = |k: &str| get(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let reader_secret_arn = get("FDW_REPORT_READER_SECRET_ARN").ok_or(ReportSettingsError::Missing(
            "FDW_REPORT_READER_SECRET_ARN",
            "the read-only report role's secret (username, password; host/port optional)",
        ))?;
        let writer_secret_arn = get("FDW_REPORT_WRITER_SECRET_ARN").ok_or(ReportSettingsError::Missing(
            "FDW_REPORT_WRITER_SECRET_ARN",
            "the secret of the role that writes schema fdw_reports on the writer",
        ))?;
        let endpoint = |name: &'static str| -> Result<Option<Endpoint>, ReportSettingsError> {
            get(name).map(|v| parse_endpoint(name, &v)).transpose()
        };
        let concurrency = match get("FDW_REPORT_CONCURRENCY") {
            None => 4,
            Some(v) => match v.parse::<usize>() {
                Ok(n) if (1..=32).contains(&n) => n,
                _ => {
                    return Err(ReportSettingsError::Invalid {
                        name: "FDW_REPORT_CONCURRENCY",
                        value: v,
                        expected: "a whole number from 1 to 32",
                    })
                }
            },
        };
        let pushdown_rows = match get("FDW_REPORT_PUSHDOWN_ROWS") {
            None => DEFAULT_ROWS_THRESHOLD,
            Some(v) => match v.parse::<f64>() {
                Ok(n) if n.is_finite() && n >= 0.0 => n,
                _ => {
                    return Err(ReportSettingsError::Invalid {
                        name: "FDW_REPORT_PUSHDOWN_ROWS",
                        value: v,
                        expected: "a number of rows, 0 or more",
                    })
                }
            },
        };
        let remote_slots = match get("FDW_REPORT_REMOTE_SLOTS") {
            None => DEFAULT_REMOTE_SLOTS,
            Some(v) => match v.parse::<u32>() {
                Ok(n) if (1..=1000).contains(&n) => n,
                _ => {
                    return Err(ReportSettingsError::Invalid {
                        name: "FDW_REPORT_REMOTE_SLOTS",
                        value: v,
                        expected: "a whole number from 1 to 1000, below the FDW role's CONNECTION LIMIT on cluster B",
                    })
                }
            },
        };
        let schema = get("FDW_REPORT_SCHEMA").unwrap_or_else(|| "orders_remote".into());
        let links = match get("FDW_REPORT_LINKS") {
            None => BTreeMap::new(),
            Some(text) => parse_links(&text, &schema)?,
        };
        Ok(Self {
            ca_bundle: connect.ca_bundle,
            connect_timeout: connect.connect_timeout,
            reader_secret_arn,
            writer_secret_arn,
            database: get("FDW_REPORT_DATABASE"),
            cluster_id: get("FDW_REPORT_CLUSTER_ID"),
            reader_endpoint: endpoint("FDW_REPORT_READER_ENDPOINT")?,
            writer_endpoint: endpoint("FDW_REPORT_WRITER_ENDPOINT")?,
            schema,
            concurrency,
            pushdown_rows,
            remote_slots,
            links,
        })
    }
}

/// FDW_REPORT_LINKS: each name a link name, each schema a PostgreSQL name of its
/// own (not the function's link's `default_schema`: a schema is a link, and its
/// report budget), each budget 1 to 1000.
fn parse_links(text: &str, default_schema: &str) -> Result<BTreeMap<String, NamedLink>, ReportSettingsError> {
    let links: BTreeMap<String, NamedLink> =
        serde_json::from_str(text).map_err(|e| ReportSettingsError::Links(format!("not that shape ({e})")))?;
    let mut schemas: BTreeMap<&str, &str> = BTreeMap::new();
    for (name, link) in &links {
        if !is_link_name(name) {
            return Err(ReportSettingsError::Links(format!(
                "link name {name:?} must be 1 to 63 characters of a-z, 0-9 and _, starting with a letter"
            )));
        }
        // PostgreSQL cuts a longer name to 63 bytes, which could be another link's schema.
        if link.schema.is_empty() || link.schema.len() > 63 || link.schema.contains('\0') {
            return Err(ReportSettingsError::Links(format!(
                "link {name}: schema {:?} must be 1 to 63 bytes without NUL (a PostgreSQL name)",
                link.schema
            )));
        }
        if !(1..=1000).contains(&link.remote_slots) {
            return Err(ReportSettingsError::Links(format!(
                "link {name}: remote_slots {} must be a whole number from 1 to 1000, below the link's FDW role's CONNECTION LIMIT",
                link.remote_slots
            )));
        }
        if link.schema == default_schema {
            return Err(ReportSettingsError::Links(format!(
                "link {name}: schema {:?} is FDW_REPORT_SCHEMA's, which reports name {{{{remote}}}}: each link has a schema of its own",
                link.schema
            )));
        }
        if let Some(other) = schemas.insert(&link.schema, name) {
            return Err(ReportSettingsError::Links(format!(
                "links {other} and {name} share schema {:?}: each link has a schema of its own",
                link.schema
            )));
        }
    }
    Ok(links)
}

fn parse_endpoint(name: &'static str, value: &str) -> Result<Endpoint, ReportSettingsError> {
    let invalid = || ReportSettingsError::Invalid {
        name,
        value: value.to_string(),
        expected: "a host name, or host:port",
    };
    let (host, port) = match value.rsplit_once(':') {
        Some((h, p)) => (h, p.parse::<u16>().map_err(|_| invalid())?),
        None => (value, 5432),
    };
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(invalid());
    }
    Ok(Endpoint {
        host: host.to_string(),
        port,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| map.get(k).cloned()
    }

    const BASE: [(&str, &str); 3] = [
        ("FDW_CA_BUNDLE", "/ca.pem"),
        ("FDW_REPORT_READER_SECRET_ARN", "arn:r"),
        ("FDW_REPORT_WRITER_SECRET_ARN", "arn:w"),
    ];

    #[test]
    fn defaults() {
        let s = ReportSettings::from_lookup(lookup(&BASE)).unwrap();
        assert_eq!(s.schema, "orders_remote");
        assert_eq!(s.concurrency, 4);
        assert_eq!(s.pushdown_rows, DEFAULT_ROWS_THRESHOLD);
        assert_eq!((s.reader_endpoint, s.cluster_id, s.database), (None, None, None));
        assert!(s.links.is_empty());
        let mut empty = BASE.to_vec();
        empty.push(("FDW_REPORT_LINKS", " "));
        assert!(ReportSettings::from_lookup(lookup(&empty)).unwrap().links.is_empty());
    }

    #[test]
    fn named_links_and_their_errors() {
        let with = |links: &str| {
            let mut pairs = BASE.to_vec();
            pairs.push(("FDW_REPORT_SCHEMA", "orders_remote"));
            pairs.push(("FDW_REPORT_LINKS", links));
            ReportSettings::from_lookup(lookup(&pairs))
        };
        let s =
            with(r#"{"payments": {"schema": "payments_remote", "remote_slots": 3}, "crm": {"schema": "crm \"x\""}}"#)
                .unwrap();
        assert_eq!(
            s.links["payments"],
            NamedLink {
                schema: "payments_remote".into(),
                remote_slots: 3
            }
        );
        assert_eq!(s.links["crm"].schema, "crm \"x\"");
        assert_eq!(s.links["crm"].remote_slots, DEFAULT_REMOTE_SLOTS);
        for (links, says) in [
            ("payments_remote", "not that shape"),
            (r#"["payments"]"#, "not that shape"),
            (r#"{"payments": {"schema": "p", "slots": 3}}"#, "unknown field `slots`"),
            (r#"{"payments": {}}"#, "missing field `schema`"),
            (r#"{"Payments": {"schema": "p"}}"#, "link name \"Payments\""),
            (r#"{"": {"schema": "p"}}"#, "link name \"\""),
            (r#"{"1x": {"schema": "p"}}"#, "link name"),
            (r#"{"payments": {"schema": ""}}"#, "1 to 63 bytes"),
            (r#"{"payments": {"schema": "a\u0000b"}}"#, "without NUL"),
            (r#"{"payments": {"schema": "p", "remote_slots": 0}}"#, "remote_slots 0"),
            (r#"{"payments": {"schema": "p", "remote_slots": -1}}"#, "not that shape"),
            (r#"{"payments": {"schema": "orders_remote"}}"#, "FDW_REPORT_SCHEMA's"),
            (
                r#"{"a": {"schema": "p"}, "b": {"schema": "p"}}"#,
                "links a and b share schema",
            ),
        ] {
            let e = with(links).unwrap_err().to_string();
            assert!(e.starts_with("environment variable FDW_REPORT_LINKS: "), "{links}: {e}");
            assert!(e.contains(says), "{links}: {e}");
            assert!(
                e.contains("{{remote:payments}}"),
                "{links}: the error shows the shape: {e}"
            );
        }
        let long = format!(r#"{{"p": {{"schema": "{}"}}}}"#, "s".repeat(64));
        assert!(with(&long).unwrap_err().to_string().contains("1 to 63 bytes"));
    }

    #[test]
    fn overrides_and_errors_name_the_variable() {
        let mut pairs = BASE.to_vec();
        pairs.extend([
            ("FDW_REPORT_READER_ENDPOINT", "users.cluster-ro-x.rds:6432"),
            ("FDW_REPORT_SCHEMA", "remote \"x\""),
            ("FDW_REPORT_CONCURRENCY", "2"),
        ]);
        let s = ReportSettings::from_lookup(lookup(&pairs)).unwrap();
        assert_eq!(s.reader_endpoint.unwrap().to_string(), "users.cluster-ro-x.rds:6432");
        assert_eq!(s.schema, "remote \"x\"");
        assert_eq!(s.concurrency, 2);

        let e = ReportSettings::from_lookup(lookup(&BASE[..2])).unwrap_err();
        assert!(e.to_string().contains("FDW_REPORT_WRITER_SECRET_ARN"), "{e}");
        let mut bad = BASE.to_vec();
        bad.push(("FDW_REPORT_CONCURRENCY", "0"));
        assert!(ReportSettings::from_lookup(lookup(&bad))
            .unwrap_err()
            .to_string()
            .contains("FDW_REPORT_CONCURRENCY"));
        assert_eq!(s.remote_slots, DEFAULT_REMOTE_SLOTS);
        let mut slots = BASE.to_vec();
        slots.push(("FDW_REPORT_REMOTE_SLOTS", "15"));
        assert_eq!(ReportSettings::from_lookup(lookup(&slots)).unwrap().remote_slots, 15);
        for v in ["0", "-1", "lots", "1001"] {
            let mut bad = BASE.to_vec();
            bad.push(("FDW_REPORT_REMOTE_SLOTS", v));
            assert!(ReportSettings::from_lookup(lookup(&bad))
                .unwrap_err()
                .to_string()
                .contains("FDW_REPORT_REMOTE_SLOTS"));
        }
        let mut bad = BASE.to_vec();
        bad.push(("FDW_REPORT_WRITER_ENDPOINT", "h:notaport"));
        assert!(ReportSettings::from_lookup(lookup(&bad))
            .unwrap_err()
            .to_string()
            .contains("FDW_REPORT_WRITER_ENDPOINT"));
    }
}
