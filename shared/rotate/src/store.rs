//! The Secrets Manager calls a rotation makes, behind a small trait: the real
//! adapter uses the AWS SDK (moto's server locally); unit tests may fake it.

use super::stages::SecretMetadata;
use async_trait::async_trait;
use fdw_bridge_aws::SecretsManager;

/// Characters GetRandomPassword must leave out: they break connection strings
/// and URIs (`/ @ : ?`), shell and SQL quoting (`" ' \` and the backtick), and
/// `%` escapes. One list, used for every new password.
pub const EXCLUDED_PASSWORD_CHARACTERS: &str = "/@\"'\\`:?%";

/// Length of new passwords (Secrets Manager's default is 32).
pub const PASSWORD_LENGTH: i64 = 32;

#[derive(Debug, thiserror::Error)]
pub enum RotationStoreError {
    #[error("Secrets Manager {call} on secret {id} failed: {reason} (the function's role needs DescribeSecret, GetSecretValue, PutSecretValue and UpdateSecretVersionStage on it, and GetRandomPassword; in a VPC, a Secrets Manager interface endpoint)")]
    Call {
        call: &'static str,
        id: String,
        reason: String,
    },
    #[error("secret {id}, {what}, holds binary data, not a JSON string")]
    Binary { id: String, what: String },
}

#[async_trait]
pub trait RotationStore: Send + Sync {
    /// DescribeSecret: rotation flag and VersionIdsToStages.
    async fn describe(&self, id: &str) -> Result<SecretMetadata, RotationStoreError>;
    /// GetSecretValue by stage (and version); None when that version has no value
    /// (ResourceNotFoundException), as for a version Secrets Manager just created.
    async fn get(&self, id: &str, version: Option<&str>, stage: &str) -> Result<Option<String>, RotationStoreError>;
    /// PutSecretValue of the new version with the stage AWSPENDING.
    async fn put_pending(&self, id: &str, token: &str, text: &str) -> Result<(), RotationStoreError>;
    /// GetRandomPassword without [`EXCLUDED_PASSWORD_CHARACTERS`].
    async fn random_password(&self) -> Result<String, RotationStoreError>;
    /// UpdateSecretVersionStage: AWSCURRENT to `to`, away from `from`.
    async fn move_current(&self, id: &str, to: &str, from: &str) -> Result<(), RotationStoreError>;
    /// UpdateSecretVersionStage: AWSPENDING off `version` (once it is AWSCURRENT).
    async fn clear_pending(&self, id: &str, version: &str) -> Result<(), RotationStoreError>;
}

fn call_error<E, R>(
    call: &'static str,
    id: &str,
    e: &aws_smithy_runtime_api::client::result::SdkError<E, R>,
) -> RotationStoreError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    RotationStoreError::Call {
        call,
        id: id.to_string(),
        reason: fdw_bridge_aws::error_text(e),
    }
}

#[async_trait]
impl RotationStore for SecretsManager {
    async fn describe(&self, id: &str) -> Result<SecretMetadata, RotationStoreError> {
        let out = self
            .client()
            .describe_secret()
            .secret_id(id)
            .send()
            .await
            .map_err(|e| call_error("DescribeSecret", id, &e))?;
        Ok(SecretMetadata {
            rotation_enabled: out.rotation_enabled().unwrap_or(false),
            versions: out
                .version_ids_to_stages()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
        })
    }

    async fn get(&self, id: &str, version: Option<&str>, stage: &str) -> Result<Option<String>, RotationStoreError> {
        use aws_sdk_secretsmanager::error::SdkError;
        use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
        let mut request = self.client().get_secret_value().secret_id(id).version_stage(stage);
        if let Some(v) = version {
            request = request.version_id(v);
        }
        match request.send().await {
            Ok(out) => match out.secret_string() {
                Some(text) => Ok(Some(text.to_string())),
                None => Err(RotationStoreError::Binary {
                    id: id.to_string(),
                    what: stage.to_string(),
                }),
            },
            Err(SdkError::ServiceError(se))
                if matches!(se.err(), GetSecretValueError::ResourceNotFoundException(_)) =>
            {
                Ok(None)
            }
            Err(e) => Err(call_error("GetSecretValue", id, &e)),
        }
    }

    async fn put_pending(&self, id: &str, token: &str, text: &str) -> Result<(), RotationStoreError> {
        self.client()
            .put_secret_value()
            .secret_id(id)
            .client_request_token(token)
            .secret_string(text)
            .version_stages(super::stages::AWSPENDING)
            .send()
            .await
            .map_err(|e| call_error("PutSecretValue", id, &e))?;
        Ok(())
    }

    async fn random_password(&self) -> Result<String, RotationStoreError> {
        let out = self
            .client()
            .get_random_password()
            .password_length(PASSWORD_LENGTH)
            .exclude_characters(EXCLUDED_PASSWORD_CHARACTERS)
            .send()
            .await
            .map_err(|e| call_error("GetRandomPassword", "(none)", &e))?;
        out.random_password()
            .map(str::to_string)
            .ok_or_else(|| RotationStoreError::Call {
                call: "GetRandomPassword",
                id: "(none)".into(),
                reason: "the answer held no password".into(),
            })
    }

    async fn move_current(&self, id: &str, to: &str, from: &str) -> Result<(), RotationStoreError> {
        self.client()
            .update_secret_version_stage()
            .secret_id(id)
            .version_stage(super::stages::AWSCURRENT)
            .move_to_version_id(to)
            .remove_from_version_id(from)
            .send()
            .await
            .map_err(|e| call_error("UpdateSecretVersionStage", id, &e))?;
        Ok(())
    }

    async fn clear_pending(&self, id: &str, version: &str) -> Result<(), RotationStoreError> {
        self.client()
            .update_secret_version_stage()
            .secret_id(id)
            .version_stage(super::stages::AWSPENDING)
            .remove_from_version_id(version)
            .send()
            .await
            .map_err(|e| call_error("UpdateSecretVersionStage", id, &e))?;
        Ok(())
    }
}
