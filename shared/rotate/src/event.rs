//! The rotation event Secrets Manager sends each step
//! (https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_lambda-functions.html):
//! `{"Step": "createSecret", "SecretId": "arn:...", "ClientRequestToken": "<version id>"}`.
//! Read here, not by the runtime, so that a malformed event is reported as
//! `InvalidEvent` with what was wrong.

use super::stages::{StageError, Step};
use aws_lambda_events::event::secretsmanager::SecretsManagerSecretRotationEvent;
use serde::Deserialize;
use serde_json::Value;

/// One step request, every field checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RotationEvent {
    pub step: Step,
    pub secret_id: String,
    pub token: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RotationEventError {
    #[error("not a Secrets Manager rotation event: {0} (expected {{\"Step\": \"createSecret\", \"SecretId\": \"<secret ARN>\", \"ClientRequestToken\": \"<version id>\"}})")]
    Shape(String),
    #[error("field {0} is empty: Secrets Manager always sends it")]
    Empty(&'static str),
    #[error(transparent)]
    Step(#[from] StageError),
}

pub fn parse(event: &Value) -> Result<RotationEvent, RotationEventError> {
    // serde_json names the missing field or the position, never a value.
    let raw =
        SecretsManagerSecretRotationEvent::deserialize(event).map_err(|e| RotationEventError::Shape(e.to_string()))?;
    for (name, value) in [
        ("Step", &raw.step),
        ("SecretId", &raw.secret_id),
        ("ClientRequestToken", &raw.client_request_token),
    ] {
        if value.trim().is_empty() {
            return Err(RotationEventError::Empty(name));
        }
    }
    Ok(RotationEvent {
        step: Step::parse(&raw.step)?,
        secret_id: raw.secret_id,
        token: raw.client_request_token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_the_documented_event() {
        let e = parse(&json!({"Step": "setSecret", "SecretId": "arn:s", "ClientRequestToken": "t-1"})).unwrap();
        assert_eq!(
            e,
            RotationEvent {
                step: Step::Set,
                secret_id: "arn:s".into(),
                token: "t-1".into()
            }
        );
    }

    #[test]
    fn rejections_say_what_is_wrong() {
        let e = parse(&json!({"Step": "setSecret"})).unwrap_err().to_string();
        assert!(e.contains("missing field `SecretId`"), "{e}");
        let e = parse(&json!([1, 2])).unwrap_err().to_string();
        assert!(e.starts_with("not a Secrets Manager rotation event"), "{e}");
        let e = parse(&json!({"Step": "s", "SecretId": " ", "ClientRequestToken": "t"})).unwrap_err();
        assert_eq!(e, RotationEventError::Empty("SecretId"));
        let e = parse(&json!({"Step": "dropSecret", "SecretId": "a", "ClientRequestToken": "t"})).unwrap_err();
        assert!(e.to_string().contains("unknown rotation step \"dropSecret\""), "{e}");
    }
}
