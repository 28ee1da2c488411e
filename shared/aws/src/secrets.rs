//! Database secrets as Secrets Manager holds them, in the JSON shape of AWS's
//! rotation templates (engine, host, port, dbname, username, password, masterarn).
//! An RDS-managed master secret holds only username and password.

use async_trait::async_trait;
use serde::{Deserialize, Deserializer};
use std::fmt;

#[derive(Clone, Deserialize, PartialEq, Eq)]
pub struct DbSecret {
    #[serde(default)]
    pub engine: Option<String>,
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default, deserialize_with = "port_from_number_or_string")]
    pub port: Option<u16>,
    #[serde(default)]
    pub dbname: Option<String>,
    pub username: String,
    pub password: String,
    #[serde(default)]
    pub masterarn: Option<String>,
}

// Passwords never reach a log through Debug.
impl fmt::Debug for DbSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DbSecret")
            .field("engine", &self.engine)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("dbname", &self.dbname)
            .field("username", &self.username)
            .field("password", &"********")
            .field("masterarn", &self.masterarn)
            .finish()
    }
}

fn port_from_number_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u16>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Port {
        Number(u16),
        Text(String),
    }
    match Option::<Port>::deserialize(d)? {
        None => Ok(None),
        Some(Port::Number(n)) => Ok(Some(n)),
        Some(Port::Text(t)) => t
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("port {t:?} is not a number"))),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("secret {id} was not found in Secrets Manager: check the ARN, the region and that the function's role may read it")]
    NotFound { id: String },
    #[error("could not read secret {id} from Secrets Manager: {reason} (check that Secrets Manager answers: in a VPC the function needs a Secrets Manager interface endpoint or NAT; and that its role may secretsmanager:GetSecretValue on the secret)")]
    Unavailable { id: String, reason: String },
    #[error(
        "secret {id} is not a database secret: {reason} (expected JSON with at least \"username\" and \"password\")"
    )]
    Malformed { id: String, reason: String },
}

impl DbSecret {
    pub fn parse(id: &str, text: &str) -> Result<Self, SecretError> {
        // serde_json's message names the field or position, never the value.
        serde_json::from_str(text).map_err(|e| SecretError::Malformed {
            id: id.to_string(),
            reason: e.to_string(),
        })
    }
}

/// Where secrets come from. The real one is Secrets Manager; unit tests use a map.
#[async_trait]
pub trait SecretSource: Send + Sync {
    async fn db_secret(&self, secret_id: &str) -> Result<DbSecret, SecretError>;
}

/// Secrets Manager through the AWS SDK (reaches moto locally via AWS_ENDPOINT_URL):
/// the one client of the three functions, a [`SecretSource`] here and fdw-rotate's
/// rotation store there.
#[derive(Clone)]
pub struct SecretsManager {
    client: aws_sdk_secretsmanager::Client,
}

impl SecretsManager {
    pub fn new(client: aws_sdk_secretsmanager::Client) -> Self {
        Self { client }
    }

    /// The SDK client, for the calls a layer above makes itself.
    pub fn client(&self) -> &aws_sdk_secretsmanager::Client {
        &self.client
    }
}

#[async_trait]
impl SecretSource for SecretsManager {
    async fn db_secret(&self, secret_id: &str) -> Result<DbSecret, SecretError> {
        use aws_sdk_secretsmanager::error::SdkError;
        use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
        let out = self
            .client
            .get_secret_value()
            .secret_id(secret_id)
            // AWS's default, said explicitly: during a rotation only AWSCURRENT is in use.
            .version_stage("AWSCURRENT")
            .send()
            .await
            .map_err(|e| match &e {
                SdkError::ServiceError(se) if matches!(se.err(), GetSecretValueError::ResourceNotFoundException(_)) => {
                    SecretError::NotFound {
                        id: secret_id.to_string(),
                    }
                }
                _ => SecretError::Unavailable {
                    id: secret_id.to_string(),
                    reason: crate::error_text(&e),
                },
            })?;
        let text = out.secret_string().ok_or_else(|| SecretError::Malformed {
            id: secret_id.to_string(),
            reason: "it holds binary data, not a JSON string".into(),
        })?;
        DbSecret::parse(secret_id, text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_rotation_template_secret() {
        let s = DbSecret::parse(
            "a",
            r#"{"engine":"postgres","host":"h","port":"5432","dbname":"d","username":"u","password":"p'\\x","masterarn":"arn:m"}"#,
        )
        .unwrap();
        assert_eq!(s.port, Some(5432));
        assert_eq!(s.password, "p'\\x");
        assert!(!format!("{s:?}").contains("p'"));
    }

    #[test]
    fn rds_managed_secret_has_only_credentials() {
        let s = DbSecret::parse("a", r#"{"username":"u","password":"p"}"#).unwrap();
        assert_eq!(s.host, None);
        assert_eq!(s.port, None);
    }

    #[test]
    fn malformed_secret_names_the_problem_not_the_value() {
        let e = DbSecret::parse("arn:x", r#"{"username":"u","password":"sekrit","port":"abc"}"#).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("arn:x") && text.contains("port"), "{text}");
        assert!(!text.contains("sekrit"));
        let e = DbSecret::parse("arn:x", r#"{"user":"u"}"#).unwrap_err();
        assert!(e.to_string().contains("username"), "{e}");
    }
}
