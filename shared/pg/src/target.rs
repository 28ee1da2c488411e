//! Where and as whom to open a session: a server's endpoint, a database, a
//! user and a password. Where they come from (an explicit endpoint, RDS, a
//! secret) is decided above this layer.

use std::fmt;

/// PostgreSQL's port, when nothing names another.
pub const DEFAULT_PORT: u16 = 5432;

/// Where a PostgreSQL server listens: a cluster's writer or reader endpoint,
/// or a host named in a secret or a setting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// Everything needed to open one session.
#[derive(Clone)]
pub struct ConnectTarget {
    /// Human name of the cluster in errors, e.g. "local cluster (users)".
    pub label: String,
    pub endpoint: Endpoint,
    pub dbname: String,
    pub user: String,
    pub password: String,
    /// Where the credentials came from, for errors ("secret arn:...").
    pub credential_source: String,
}

// The password never prints.
impl std::fmt::Debug for ConnectTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}@{}/{}", self.label, self.user, self.endpoint, self.dbname)
    }
}
