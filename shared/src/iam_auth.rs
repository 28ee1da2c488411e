//! IAM database authentication: a short-lived token, signed with the function's
//! own credentials, used as the password for a role granted `rds_iam`.

use crate::endpoint::Endpoint;

#[derive(Debug, thiserror::Error)]
#[error("cannot make an IAM auth token for {user}@{endpoint}: {reason} (the function needs AWS credentials, a region and rds-db:connect on this user)")]
pub struct IamTokenError {
    pub user: String,
    pub endpoint: String,
    pub reason: String,
}

/// Signs an RDS IAM auth token locally (no network call).
pub async fn auth_token(sdk: &aws_config::SdkConfig, endpoint: &Endpoint, user: &str) -> Result<String, IamTokenError> {
    use aws_sdk_rds::auth_token::{AuthTokenGenerator, Config};
    let fail = |reason: String| IamTokenError {
        user: user.to_string(),
        endpoint: endpoint.to_string(),
        reason,
    };
    let mut config = Config::builder()
        .hostname(endpoint.host.clone())
        .port(u64::from(endpoint.port))
        .username(user);
    if let Some(region) = sdk.region() {
        config = config.region(region.clone());
    }
    let config = config.build().map_err(|e| fail(e.to_string()))?;
    let token = AuthTokenGenerator::new(config)
        .auth_token(sdk)
        .await
        .map_err(|e| fail(e.to_string()))?;
    Ok(token.as_str().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_config::{BehaviorVersion, Region};
    use aws_sdk_rds::config::Credentials;

    #[tokio::test]
    async fn token_is_a_presigned_connect_url_for_the_user() {
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new("eu-west-1"))
            .credentials_provider(Credentials::new("AKIDEXAMPLE", "secret", None, None, "test"))
            .load()
            .await;
        let endpoint = Endpoint {
            host: "db.example.internal".into(),
            port: 5432,
        };
        let token = auth_token(&sdk, &endpoint, "fdw_reader").await.unwrap();
        assert!(token.starts_with("db.example.internal:5432/?"), "{token}");
        assert!(
            token.contains("Action=connect") && token.contains("DBUser=fdw_reader"),
            "{token}"
        );
        assert!(token.contains("X-Amz-Signature="), "{token}");
    }
}
