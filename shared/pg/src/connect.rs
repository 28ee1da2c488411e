//! Connecting to a cluster: tokio-postgres over rustls (verify-full against the
//! configured CA bundle), bounded in time, with errors that name the host, the
//! database and the role, and say what to check.

use super::target::ConnectTarget;
use super::{is_auth_failure, SqlState};
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres::{config::SslMode, Client, Config};
use tokio_postgres_rustls::MakeRustlsConnect;

#[derive(Clone)]
pub struct Connector {
    tls: Arc<rustls::ClientConfig>,
    timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("{label}: no answer from {endpoint} within {secs} s (database {dbname}, user {user}): check the endpoint, the security groups and that the cluster is running")]
    Timeout {
        label: String,
        endpoint: String,
        dbname: String,
        user: String,
        secs: u64,
    },
    #[error("{label}: TLS with {endpoint} failed: {reason}: the server certificate must be signed by a CA in the bundle (FDW_CA_BUNDLE) and name the host; TLS is never skipped")]
    Tls {
        label: String,
        endpoint: String,
        reason: String,
    },
    #[error("{label}: login to database {dbname} at {endpoint} as {user} was refused: {reason} (check the credentials in {credential_source})")]
    Auth {
        label: String,
        endpoint: String,
        dbname: String,
        user: String,
        reason: String,
        credential_source: String,
    },
    #[error("{label}: cannot connect to {endpoint} (database {dbname}, user {user}): {reason}")]
    Other {
        label: String,
        endpoint: String,
        dbname: String,
        user: String,
        reason: String,
        /// SQLSTATE when the server refused the session (e.g. 42501 no CONNECT privilege).
        sqlstate: Option<SqlState>,
    },
}

impl Connector {
    pub fn new(tls: Arc<rustls::ClientConfig>, timeout: Duration) -> Self {
        Self { tls, timeout }
    }

    /// How long a session may take to open (TCP, TLS and login).
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// A connector that verifies servers against the CA bundle at `ca_bundle`
    /// (what every function builds once at cold start).
    pub fn with_ca_bundle(ca_bundle: &std::path::Path, timeout: Duration) -> Result<Self, super::TlsError> {
        Ok(Self::new(super::client_config(ca_bundle)?, timeout))
    }

    /// Opens a session; the connection task runs on the runtime until the client is dropped.
    pub async fn connect(&self, target: &ConnectTarget) -> Result<Client, ConnectError> {
        let mut config = Config::new();
        config
            .host(&target.endpoint.host)
            .port(target.endpoint.port)
            .dbname(&target.dbname)
            .user(&target.user)
            .password(target.password.as_bytes())
            .application_name("fdw-bridge")
            .ssl_mode(SslMode::Require)
            .connect_timeout(self.timeout)
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(30));
        let tls = MakeRustlsConnect::new((*self.tls).clone());
        // connect_timeout bounds the TCP connect; this bounds TLS and login too
        // (a peer that accepts and then says nothing).
        let attempt = tokio::time::timeout(self.timeout, config.connect(tls)).await;
        let (client, connection) = match attempt {
            Err(_) => {
                return Err(ConnectError::Timeout {
                    label: target.label.clone(),
                    endpoint: target.endpoint.to_string(),
                    dbname: target.dbname.clone(),
                    user: target.user.clone(),
                    secs: self.timeout.as_secs(),
                })
            }
            Ok(Err(e)) => return Err(classify(target, &e)),
            Ok(Ok(pair)) => pair,
        };
        let label = target.label.clone();
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(cluster = %label, error = %e, "database connection closed");
            }
        });
        Ok(client)
    }
}

fn classify(target: &ConnectTarget, e: &tokio_postgres::Error) -> ConnectError {
    let reason = error_chain(e);
    let is_auth = e.as_db_error().is_some_and(|d| is_auth_failure(d.code()));
    if is_auth {
        return ConnectError::Auth {
            label: target.label.clone(),
            endpoint: target.endpoint.to_string(),
            dbname: target.dbname.clone(),
            user: target.user.clone(),
            reason,
            credential_source: target.credential_source.clone(),
        };
    }
    let lower = reason.to_ascii_lowercase();
    if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
        return ConnectError::Tls {
            label: target.label.clone(),
            endpoint: target.endpoint.to_string(),
            reason,
        };
    }
    if lower.contains("timed out") {
        return ConnectError::Timeout {
            label: target.label.clone(),
            endpoint: target.endpoint.to_string(),
            dbname: target.dbname.clone(),
            user: target.user.clone(),
            secs: 0,
        };
    }
    ConnectError::Other {
        label: target.label.clone(),
        endpoint: target.endpoint.to_string(),
        dbname: target.dbname.clone(),
        user: target.user.clone(),
        reason,
        sqlstate: e.as_db_error().map(|d| d.code().clone()),
    }
}

/// The error and its sources on one line (tokio-postgres hides the cause of
/// "error performing TLS handshake" in `source()`).
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}
