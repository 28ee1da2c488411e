//! Where and as whom to open a session, from what the functions are given:
//! one precedence for every function, an endpoint given explicitly, then the
//! one RDS reports for the cluster, then the host in the secret; and the
//! session target that logs in as a database secret's user.

use fdw_bridge_aws::DbSecret;
use fdw_bridge_pg::{ConnectTarget, Endpoint, DEFAULT_PORT};

/// A session as the secret's user; `source` names the secret in errors.
pub fn target_from_secret(
    label: String,
    endpoint: Endpoint,
    dbname: &str,
    secret: &DbSecret,
    source: &str,
) -> ConnectTarget {
    ConnectTarget {
        label,
        endpoint,
        dbname: dbname.to_string(),
        user: secret.username.clone(),
        password: secret.password.clone(),
        credential_source: format!("secret {source}"),
    }
}

/// The endpoint a session goes to, by the one precedence of every function: the
/// endpoint given explicitly (a property or a setting), else the one RDS reports
/// for the cluster (on `port` when one is given), else the secret's own host (see
/// [`secret_endpoint`]). None when none of them names a host.
pub fn endpoint_by_precedence(
    explicit: Option<Endpoint>,
    from_rds: Option<Endpoint>,
    secret: &DbSecret,
    port: Option<u16>,
) -> Option<Endpoint> {
    let from_rds = from_rds.map(|mut endpoint| {
        if let Some(port) = port {
            endpoint.port = port;
        }
        endpoint
    });
    explicit.or(from_rds).or_else(|| secret_endpoint(secret, port))
}

/// The secret's own host (the last choice), on `port` when one is given, else
/// the secret's port, else 5432.
pub fn secret_endpoint(secret: &DbSecret, port: Option<u16>) -> Option<Endpoint> {
    secret.host.as_ref().map(|host| Endpoint {
        host: host.clone(),
        port: port.or(secret.port).unwrap_or(DEFAULT_PORT),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_endpoint_port_precedence() {
        let secret = DbSecret::parse("s", r#"{"username":"u","password":"p","host":"h","port":6000}"#).unwrap();
        assert_eq!(secret_endpoint(&secret, None).unwrap().to_string(), "h:6000");
        assert_eq!(secret_endpoint(&secret, Some(7000)).unwrap().to_string(), "h:7000");
        let bare = DbSecret::parse("s", r#"{"username":"u","password":"p","host":"h"}"#).unwrap();
        assert_eq!(secret_endpoint(&bare, None).unwrap().to_string(), "h:5432");
        let managed = DbSecret::parse("s", r#"{"username":"u","password":"pw"}"#).unwrap();
        assert_eq!(secret_endpoint(&managed, None), None);
        let target = target_from_secret(
            "A".into(),
            Endpoint {
                host: "h".into(),
                port: 1,
            },
            "d",
            &managed,
            "arn:x",
        );
        assert_eq!(target.credential_source, "secret arn:x");
        assert!(!format!("{target:?}").contains("pw"));
    }

    #[test]
    fn explicit_then_rds_then_the_secrets_host() {
        let at = |host: &str, port| Endpoint {
            host: host.into(),
            port,
        };
        let secret = DbSecret::parse("s", r#"{"username":"u","password":"p","host":"h","port":6000}"#).unwrap();
        let choose = |explicit, from_rds, port| endpoint_by_precedence(explicit, from_rds, &secret, port);
        assert_eq!(choose(Some(at("e", 1)), Some(at("rds", 2)), Some(7)), Some(at("e", 1)));
        assert_eq!(choose(None, Some(at("rds", 2)), None), Some(at("rds", 2)));
        assert_eq!(choose(None, Some(at("rds", 2)), Some(7)), Some(at("rds", 7)));
        assert_eq!(choose(None, None, None), Some(at("h", 6000)));
        assert_eq!(choose(None, None, Some(7)), Some(at("h", 7)));
        let managed = DbSecret::parse("s", r#"{"username":"u","password":"p"}"#).unwrap();
        assert_eq!(endpoint_by_precedence(None, None, &managed, Some(7)), None);
    }
}
