//! The FDW role secret that fdw-rotate rotates: AWS's rotation-template keys
//! (engine, host, port, dbname, username, password, masterarn) for the FDW role
//! on the remote cluster, plus what the link needs on the local cluster.
//!
//! ```json
//! {"engine": "postgres", "host": "orders.cluster-x.rds.amazonaws.com", "port": 5432,
//!  "dbname": "orders", "username": "fdw_orders", "password": "...",
//!  "masterarn": "arn:...:secret:orders-master",
//!  "local": {"host": "users.cluster-y.rds.amazonaws.com", "port": 5432, "dbname": "users",
//!            "adminarn": "arn:...:secret:users-master"},
//!  "server": "orders_link", "strategy": "alternating"}
//! ```
//!
//! Keys it does not know are kept as they are when the pending version is written.

use fdw_bridge_pg::role::RolePair;
use fdw_bridge_pg::{Endpoint, DEFAULT_PORT};
use serde_json::{Map, Value};
use std::fmt;

/// How the password changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// The role and its clone take turns: the new password is set on the one
    /// not in use, then the user mappings switch to it (no failed query).
    Alternating,
    /// One role: its password changes, then the mappings follow (new
    /// connections fail in between).
    Single,
}

/// Where the foreign server lives (the local cluster) and who may change its mappings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalCluster {
    pub endpoint: Endpoint,
    pub dbname: String,
    pub adminarn: String,
}

/// One version of the secret, with every key the rotation uses checked.
#[derive(Clone, PartialEq)]
pub struct RotationSecret {
    raw: Map<String, Value>,
    pub username: String,
    pub password: String,
    /// Cluster B, where the FDW role logs in.
    pub remote: Endpoint,
    pub dbname: String,
    pub masterarn: String,
    pub local: LocalCluster,
    pub server: String,
    pub strategy: Strategy,
}

impl fmt::Debug for RotationSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RotationSecret")
            .field("username", &self.username)
            .field("password", &"********")
            .field("remote", &format_args!("{}/{}", self.remote, self.dbname))
            .field("local", &format_args!("{}/{}", self.local.endpoint, self.local.dbname))
            .field("server", &self.server)
            .field("strategy", &self.strategy)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("secret {id} ({version}) cannot be rotated: {}; see \"Rotating the FDW password\" in the README for the format", problems.join("; "))]
pub struct SecretFormatError {
    pub id: String,
    pub version: String,
    pub problems: Vec<String>,
}

impl RotationSecret {
    /// Parses one version's SecretString; `version` names it in errors (e.g. "AWSCURRENT").
    /// Every problem is listed by key; values never appear in the message.
    pub fn parse(id: &str, version: &str, text: &str) -> Result<Self, SecretFormatError> {
        let fail = |problems: Vec<String>| SecretFormatError {
            id: id.to_string(),
            version: version.to_string(),
            problems,
        };
        let raw = match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => map,
            Ok(_) => return Err(fail(vec!["it is not a JSON object".into()])),
            // serde_json's message gives a position, never the text.
            Err(e) => return Err(fail(vec![format!("it is not JSON ({e})")])),
        };
        let mut problems = Vec::new();
        let username = text_key(&raw, "username", "", &mut problems);
        let password = text_key(&raw, "password", "", &mut problems);
        let host = text_key(&raw, "host", "", &mut problems);
        let port = port_key(&raw, "port", "", &mut problems);
        let dbname = text_key(&raw, "dbname", "", &mut problems);
        let masterarn = text_key(&raw, "masterarn", "", &mut problems);
        let server = text_key(&raw, "server", "", &mut problems);
        let local = match raw.get("local") {
            Some(Value::Object(local)) => Some(LocalCluster {
                endpoint: Endpoint {
                    host: text_key(local, "host", "local.", &mut problems),
                    port: port_key(local, "port", "local.", &mut problems),
                },
                dbname: text_key(local, "dbname", "local.", &mut problems),
                adminarn: text_key(local, "adminarn", "local.", &mut problems),
            }),
            Some(_) => {
                problems.push("key local must be an object with host, port, dbname and adminarn".into());
                None
            }
            None => {
                problems.push("missing key local (an object with host, port, dbname and adminarn of cluster A)".into());
                None
            }
        };
        let strategy = match raw.get("strategy") {
            None | Some(Value::Null) => Strategy::Alternating,
            Some(Value::String(s)) if s.eq_ignore_ascii_case("alternating") => Strategy::Alternating,
            Some(Value::String(s)) if s.eq_ignore_ascii_case("single") => Strategy::Single,
            Some(_) => {
                problems.push("key strategy must be \"alternating\" (the default) or \"single\"".into());
                Strategy::Alternating
            }
        };
        if let Some(Value::String(engine)) = raw.get("engine") {
            if !engine.to_ascii_lowercase().starts_with("postgres") && !engine.eq_ignore_ascii_case("aurora-postgresql")
            {
                problems.push(format!("key engine is {engine:?}: only PostgreSQL is supported"));
            }
        }
        match (local, problems.is_empty()) {
            (Some(local), true) => Ok(Self {
                raw,
                username,
                password,
                remote: Endpoint { host, port },
                dbname,
                masterarn,
                local,
                server,
                strategy,
            }),
            _ => Err(fail(problems)),
        }
    }

    /// The role and its clone this secret's username belongs to.
    pub fn roles(&self) -> RolePair {
        RolePair::of(&self.username)
    }

    /// The user the next version logs in as: the other of the pair when
    /// alternating, the same role otherwise.
    pub fn next_user(&self) -> String {
        match self.strategy {
            Strategy::Alternating => self.roles().other(&self.username),
            Strategy::Single => self.username.clone(),
        }
    }

    /// The user the next version logs in as, given the user cluster A's
    /// mappings log in as now (read from the catalog, not from this secret:
    /// AWSCURRENT is behind when a rotation was abandoned after setSecret).
    /// Alternating: the other of the one in use, so the role in use never gets
    /// a new password. When A's mappings use neither role of the pair, or are
    /// unknown, the secret decides.
    pub fn next_user_given(&self, in_use: Option<&str>) -> String {
        let pair = self.roles();
        match (self.strategy, in_use) {
            (Strategy::Alternating, Some(user)) if pair.contains(user) => pair.other(user),
            _ => self.next_user(),
        }
    }

    /// This secret with another username and password, every other key kept, as JSON text.
    pub fn with_credentials(&self, username: &str, password: &str) -> String {
        let mut raw = self.raw.clone();
        raw.insert("username".into(), Value::String(username.to_string()));
        raw.insert("password".into(), Value::String(password.to_string()));
        Value::Object(raw).to_string()
    }
}

fn text_key(map: &Map<String, Value>, key: &str, prefix: &str, problems: &mut Vec<String>) -> String {
    match map.get(key) {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::String(_)) => {
            problems.push(format!("key {prefix}{key} is empty"));
            String::new()
        }
        None | Some(Value::Null) => {
            problems.push(format!("missing key {prefix}{key}"));
            String::new()
        }
        Some(_) => {
            problems.push(format!("key {prefix}{key} must be a string"));
            String::new()
        }
    }
}

/// A port as a number or a numeric string (CloudFormation writes strings); 5432 when absent.
fn port_key(map: &Map<String, Value>, key: &str, prefix: &str, problems: &mut Vec<String>) -> u16 {
    let parsed = match map.get(key) {
        None | Some(Value::Null) => return DEFAULT_PORT,
        Some(Value::Number(n)) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        Some(Value::String(s)) => s.trim().parse::<u16>().ok(),
        Some(_) => None,
    };
    match parsed {
        Some(p) if p > 0 => p,
        _ => {
            problems.push(format!("key {prefix}{key} must be a port number (1 to 65535)"));
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Value {
        json!({
            "engine": "postgres", "host": "b.example", "port": "6543", "dbname": "orders",
            "username": "fdw_orders", "password": "s3cr'et\\", "masterarn": "arn:master",
            "local": {"host": "a.example", "port": 5432, "dbname": "users", "adminarn": "arn:admin"},
            "server": "orders_link", "extra": {"kept": true},
        })
    }

    #[test]
    fn parses_the_documented_shape() {
        let s = RotationSecret::parse("arn:s", "AWSCURRENT", &sample().to_string()).unwrap();
        assert_eq!(
            s.remote,
            Endpoint {
                host: "b.example".into(),
                port: 6543
            }
        );
        assert_eq!(s.local.endpoint.port, 5432);
        assert_eq!(s.local.adminarn, "arn:admin");
        assert_eq!(s.strategy, Strategy::Alternating);
        assert_eq!(s.next_user(), "fdw_orders_clone");
        assert!(!format!("{s:?}").contains("s3cr"));
    }

    #[test]
    fn alternating_flips_back_and_single_stays() {
        let mut v = sample();
        v["username"] = json!("fdw_orders_clone");
        let s = RotationSecret::parse("a", "v", &v.to_string()).unwrap();
        assert_eq!(s.next_user(), "fdw_orders");
        v["strategy"] = json!("single");
        let s = RotationSecret::parse("a", "v", &v.to_string()).unwrap();
        assert_eq!(s.next_user(), "fdw_orders_clone");
    }

    #[test]
    fn the_next_user_is_the_one_not_in_use_on_cluster_a() {
        let s = RotationSecret::parse("a", "v", &sample().to_string()).unwrap();
        // AWSCURRENT says fdw_orders, but an abandoned rotation switched A to the clone.
        assert_eq!(s.next_user_given(Some("fdw_orders_clone")), "fdw_orders");
        assert_eq!(s.next_user_given(Some("fdw_orders")), "fdw_orders_clone");
        assert_eq!(s.next_user_given(None), "fdw_orders_clone");
        assert_eq!(s.next_user_given(Some("someone_else")), "fdw_orders_clone");
        let mut v = sample();
        v["strategy"] = json!("single");
        let s = RotationSecret::parse("a", "v", &v.to_string()).unwrap();
        assert_eq!(s.next_user_given(Some("fdw_orders_clone")), "fdw_orders");
    }

    #[test]
    fn new_credentials_keep_every_other_key() {
        let s = RotationSecret::parse("a", "v", &sample().to_string()).unwrap();
        let text = s.with_credentials("fdw_orders_clone", "n€w \"pw\"");
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back["password"], json!("n€w \"pw\""));
        assert_eq!(back["extra"], json!({"kept": true}));
        assert_eq!(back["local"]["adminarn"], json!("arn:admin"));
        let again = RotationSecret::parse("a", "v", &text).unwrap();
        assert_eq!(again.username, "fdw_orders_clone");
    }

    #[test]
    fn every_problem_is_named_by_key_without_values() {
        let v = json!({"username": "u", "password": "hunter2", "port": "x", "local": {"host": "", "port": 70000},
                       "strategy": "both", "engine": "mysql"});
        let e = RotationSecret::parse("arn:s", "AWSPENDING", &v.to_string())
            .unwrap_err()
            .to_string();
        for needle in [
            "arn:s",
            "AWSPENDING",
            "missing key host",
            "key port must be",
            "missing key dbname",
            "missing key masterarn",
            "missing key server",
            "key local.host is empty",
            "key local.port must be",
            "missing key local.dbname",
            "missing key local.adminarn",
            "key strategy",
            "engine",
        ] {
            assert!(e.contains(needle), "{needle:?} not in {e}");
        }
        assert!(!e.contains("hunter2"));
        let e = RotationSecret::parse("arn:s", "AWSCURRENT", "{\"password\": \"hunter2\"").unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
        let e = RotationSecret::parse("arn:s", "AWSCURRENT", &json!({"local": 1}).to_string()).unwrap_err();
        assert!(e.to_string().contains("key local must be an object"), "{e}");
    }
}
