//! Finding the CA file on the local cluster's server that verifies the remote
//! cluster's certificate, when `ServerOptions.SslRootCert` is not given.
//!
//! postgres_fdw runs libpq inside the local server, so `sslrootcert` is a path
//! on that server (in Aurora, a file the function cannot see). Any role may
//! `SHOW ssl_ca_file` and `SHOW ssl_cert_file`; AWS documents pointing
//! `sslrootcert` at the server's own files for postgres_fdw with verify-full
//! (https://repost.aws/knowledge-center/rds-postgresql-ssl-root-certificate-file):
//! they verify the remote cluster when both clusters' certificates chain to the
//! same CA (one `CACertificateIdentifier`). Each candidate is tried with a probe
//! connection from the local server, in a transaction that is rolled back.

use super::spec::LinkSpec;
use fdw_bridge_pg::role::create_user_mapping;
use fdw_bridge_pg::sql::{ident, literal, Statement, QUIET_LOGGING};
use fdw_bridge_pg::PgError;
use tokio_postgres::Client;

/// The probe's server name; it only ever exists inside a rolled-back transaction.
const PROBE_SERVER: &str = "fdw_bridge_ca_probe";

#[derive(Debug, thiserror::Error)]
pub enum RemoteCaError {
    #[error("ServerOptions.SslRootCert is not set and no CA file on the local cluster's server verifies the remote cluster's certificate ({}): set ServerOptions.SslRootCert to a CA file on the local cluster's server that signed the remote cluster's certificate; in AWS give both clusters' instances the same CACertificateIdentifier", tried_text(.tried))]
    NoneVerifies { tried: Vec<(String, String)> },
    #[error("local cluster: {0}")]
    Sql(#[from] PgError),
}

fn tried_text(tried: &[(String, String)]) -> String {
    if tried.is_empty() {
        return "the server names neither ssl_ca_file nor ssl_cert_file".into();
    }
    tried
        .iter()
        .map(|(path, why)| format!("{path}: {why}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// What one probe proved about a candidate file.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// TLS with verify-full passed (the login itself may still have been refused).
    Verifies,
    /// TLS failed: why, in libpq's words.
    Rejected(String),
}

/// Reads a probe's outcome. postgres_fdw reports every connection failure as
/// SQLSTATE 08001 with libpq's message in the detail; a login refused after the
/// handshake (wrong password, role not made yet) proves the certificate verified.
pub(crate) fn verdict(outcome: Result<(), &PgError>) -> Verdict {
    let Err(e) = outcome else {
        return Verdict::Verifies;
    };
    // libpq's own words are in the detail (postgres_fdw's message is "could not connect to server").
    let text = e.message_and_detail();
    let login_refused = text.contains("password authentication failed")
        || (text.contains("role \"") && text.contains("\" does not exist"));
    if login_refused {
        Verdict::Verifies
    } else {
        Verdict::Rejected(text)
    }
}

/// The first candidate that verifies the remote cluster: the server's current
/// `sslrootcert` (an existing link keeps it), then `ssl_ca_file`, then `ssl_cert_file`.
pub async fn find_remote_ca(
    client: &mut Client,
    spec: &LinkSpec,
    current: Option<&str>,
) -> Result<String, RemoteCaError> {
    let mut candidates: Vec<String> = current.map(str::to_string).into_iter().collect();
    for setting in ["ssl_ca_file", "ssl_cert_file"] {
        let row = client
            .query_one(&format!("SELECT current_setting({}, true)", literal(setting)), &[])
            .await
            .map_err(|e| PgError::new(&format!("SHOW {setting}"), &e))?;
        if let Some(path) = row.get::<_, Option<String>>(0).filter(|p| !p.is_empty()) {
            if !candidates.contains(&path) {
                candidates.push(path);
            }
        }
    }
    let tx = client
        .transaction()
        .await
        .map_err(|e| PgError::new("starting the CA probe's transaction", &e))?;
    // The probe's user mapping carries the FDW password: keep it out of the server log.
    for setting in QUIET_LOGGING {
        tx.batch_execute(setting).await.map_err(|e| PgError::new(setting, &e))?;
    }
    tx.batch_execute("CREATE EXTENSION IF NOT EXISTS postgres_fdw; CREATE SCHEMA fdw_bridge_ca_probe")
        .await
        .map_err(|e| PgError::new("preparing the CA probe", &e))?;
    let mut tried = Vec::new();
    for path in candidates {
        tx.batch_execute("SAVEPOINT candidate")
            .await
            .map_err(|e| PgError::new("SAVEPOINT", &e))?;
        let mut outcome = Ok(());
        for statement in probe_statements(spec, &path) {
            if let Err(e) = tx.batch_execute(statement.sql()).await {
                outcome = Err(PgError::new(statement.shown(), &e));
                break;
            }
        }
        let verdict = verdict(outcome.as_ref().map(|_| ()));
        tx.batch_execute("ROLLBACK TO SAVEPOINT candidate")
            .await
            .map_err(|e| PgError::new("ROLLBACK TO SAVEPOINT", &e))?;
        match verdict {
            Verdict::Verifies => {
                tracing::info!(sslrootcert = %path, "found the CA file on the local cluster that verifies the remote cluster");
                return Ok(path);
            }
            Verdict::Rejected(why) => {
                tracing::info!(candidate = %path, reason = %why, "CA file does not verify the remote cluster");
                tried.push((path, why));
            }
        }
    }
    // Dropping the transaction rolls it back.
    Err(RemoteCaError::NoneVerifies { tried })
}

/// A throwaway server with verify-full against `path`, a mapping as the FDW
/// login, and one remote query that makes postgres_fdw connect.
fn probe_statements(spec: &LinkSpec, path: &str) -> Vec<Statement> {
    let server = ident(PROBE_SERVER);
    let options = [
        ("host", spec.remote_host.clone()),
        ("port", spec.remote_port.to_string()),
        ("dbname", spec.remote_database.clone()),
        ("sslmode", "verify-full".to_string()),
        ("sslrootcert", path.to_string()),
        (
            "connect_timeout",
            spec.server_options
                .get("connect_timeout")
                .cloned()
                .unwrap_or_else(|| "10".into()),
        ),
    ]
    .iter()
    .map(|(k, v)| format!("{} {}", ident(k), literal(v)))
    .collect::<Vec<_>>()
    .join(", ");
    vec![
        Statement::plain(format!(
            "CREATE SERVER {server} FOREIGN DATA WRAPPER postgres_fdw OPTIONS ({options})"
        )),
        create_user_mapping("CURRENT_USER", &server, &spec.login_user, spec.fdw_password.expose()),
        Statement::plain(format!(
            "CREATE FOREIGN TABLE fdw_bridge_ca_probe.probe () SERVER {server} \
             OPTIONS (schema_name 'pg_catalog', table_name 'pg_am')"
        )),
        Statement::plain("SELECT count(*) FROM fdw_bridge_ca_probe.probe"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(message: &str) -> PgError {
        PgError {
            during: "SELECT count(*) FROM fdw_bridge_ca_probe.probe".into(),
            code: None,
            message: message.into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_refused_login_after_the_handshake_proves_the_certificate() {
        assert_eq!(verdict(Ok(())), Verdict::Verifies);
        let e = failure("could not connect to server \"fdw_bridge_ca_probe\" (connection to server at \"b\", port 5432 failed: FATAL:  password authentication failed for user \"fdw_orders\")");
        assert_eq!(verdict(Err(&e)), Verdict::Verifies);
        let e = failure("could not connect to server \"p\" (connection to server at \"b\" failed: FATAL:  role \"fdw_orders\" does not exist)");
        assert_eq!(verdict(Err(&e)), Verdict::Verifies);
        // As PgError holds it: the server's message, libpq's words in the detail.
        let e = PgError {
            message: "could not connect to server \"p\"".into(),
            detail: Some(
                "connection to server at \"b\" failed: FATAL:  password authentication failed for user \"x\"".into(),
            ),
            ..Default::default()
        };
        assert_eq!(verdict(Err(&e)), Verdict::Verifies);
    }

    #[test]
    fn tls_failures_reject_the_candidate_with_libpqs_reason() {
        for reason in [
            "could not connect to server \"p\" (connection to server at \"b\", port 5432 failed: SSL error: certificate verify failed)",
            "could not connect to server \"p\" (connection to server at \"b\" failed: root certificate file \"/x\" does not exist)",
            "could not connect to server \"p\" (server certificate for \"localhost\" does not match host name \"b\")",
        ] {
            assert_eq!(verdict(Err(&failure(reason))), Verdict::Rejected(reason.into()));
        }
    }

    #[test]
    fn the_error_names_every_candidate_and_what_to_do() {
        let e = RemoteCaError::NoneVerifies {
            tried: vec![("/a/ca.pem".into(), "SSL error: certificate verify failed".into())],
        };
        let text = e.to_string();
        assert!(text.starts_with("ServerOptions.SslRootCert is not set"), "{text}");
        assert!(
            text.contains("/a/ca.pem: SSL error: certificate verify failed"),
            "{text}"
        );
        assert!(text.contains("CACertificateIdentifier"), "{text}");
    }
}
