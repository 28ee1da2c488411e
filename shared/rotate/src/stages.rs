//! The checks AWS's reference rotation functions make before any step, and
//! the pure decisions on version stages. Secrets Manager calls each step with
//! the version (ClientRequestToken) it created with the stage AWSPENDING.

use std::collections::BTreeMap;
use std::fmt;

pub const AWSCURRENT: &str = "AWSCURRENT";
pub const AWSPENDING: &str = "AWSPENDING";

/// The four steps of a Secrets Manager rotation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Create,
    Set,
    Test,
    Finish,
}

impl Step {
    pub fn parse(step: &str) -> Result<Self, StageError> {
        match step {
            "createSecret" => Ok(Self::Create),
            "setSecret" => Ok(Self::Set),
            "testSecret" => Ok(Self::Test),
            "finishSecret" => Ok(Self::Finish),
            other => Err(StageError::UnknownStep {
                step: other.to_string(),
            }),
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Create => "createSecret",
            Self::Set => "setSecret",
            Self::Test => "testSecret",
            Self::Finish => "finishSecret",
        })
    }
}

/// What DescribeSecret says about the secret.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SecretMetadata {
    pub rotation_enabled: bool,
    /// VersionIdsToStages.
    pub versions: BTreeMap<String, Vec<String>>,
}

impl SecretMetadata {
    /// The version holding AWSCURRENT.
    pub fn current_version(&self) -> Option<&str> {
        self.versions
            .iter()
            .find(|(_, stages)| stages.iter().any(|s| s == AWSCURRENT))
            .map(|(v, _)| v.as_str())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StageError {
    #[error(
        "unknown rotation step {step:?}: Secrets Manager sends createSecret, setSecret, testSecret or finishSecret"
    )]
    UnknownStep { step: String },
    #[error("secret {id} does not have rotation enabled: turn rotation on for it (RotateSecret with this function) before invoking the steps")]
    RotationDisabled { id: String },
    #[error("secret {id} has no version {token}: the ClientRequestToken must be the version Secrets Manager created for this rotation")]
    NotAVersion { id: String, token: String },
    #[error(
        "version {token} of secret {id} is not AWSPENDING (stages: {stages}): it is not the version being rotated"
    )]
    NotPending { id: String, token: String, stages: String },
    #[error("secret {id} has no AWSCURRENT version: store the FDW role's credentials in it first")]
    NoCurrent { id: String },
}

/// Whether a step has work to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// The token is AWSPENDING: run the step.
    Run,
    /// The token is already AWSCURRENT: the rotation finished, every step is a no-op.
    AlreadyCurrent,
}

/// The checks before any step, as in AWS's reference functions.
pub fn check(id: &str, token: &str, meta: &SecretMetadata) -> Result<Decision, StageError> {
    if !meta.rotation_enabled {
        return Err(StageError::RotationDisabled { id: id.to_string() });
    }
    let Some(stages) = meta.versions.get(token) else {
        return Err(StageError::NotAVersion {
            id: id.to_string(),
            token: token.to_string(),
        });
    };
    if stages.iter().any(|s| s == AWSCURRENT) {
        return Ok(Decision::AlreadyCurrent);
    }
    if !stages.iter().any(|s| s == AWSPENDING) {
        return Err(StageError::NotPending {
            id: id.to_string(),
            token: token.to_string(),
            stages: if stages.is_empty() {
                "none".into()
            } else {
                stages.join(", ")
            },
        });
    }
    Ok(Decision::Run)
}

/// finishSecret: the version AWSCURRENT moves from, or None when it is already on `token`.
pub fn finish_move<'m>(id: &str, token: &str, meta: &'m SecretMetadata) -> Result<Option<&'m str>, StageError> {
    match meta.current_version() {
        Some(current) if current == token => Ok(None),
        Some(current) => Ok(Some(current)),
        None => Err(StageError::NoCurrent { id: id.to_string() }),
    }
}

/// finishSecret, once `token` is AWSCURRENT: whether AWSPENDING is still on it.
/// It is taken off, so that no AWSPENDING is left anywhere (AWS accepts both end
/// states; moto's RotateSecret refuses the next rotation while AWSPENDING and
/// AWSCURRENT share a version).
pub fn pending_left_on(token: &str, meta: &SecretMetadata) -> bool {
    meta.versions
        .get(token)
        .is_some_and(|stages| stages.iter().any(|s| s == AWSPENDING))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(enabled: bool, versions: &[(&str, &[&str])]) -> SecretMetadata {
        SecretMetadata {
            rotation_enabled: enabled,
            versions: versions
                .iter()
                .map(|(v, s)| (v.to_string(), s.iter().map(|x| x.to_string()).collect()))
                .collect(),
        }
    }

    #[test]
    fn steps_by_name() {
        assert_eq!(Step::parse("setSecret"), Ok(Step::Set));
        assert_eq!(Step::Finish.to_string(), "finishSecret");
        assert!(Step::parse("rotate").unwrap_err().to_string().contains("\"rotate\""));
    }

    #[test]
    fn the_reference_checks() {
        let m = meta(
            true,
            &[
                ("old", &[AWSCURRENT]),
                ("new", &[AWSPENDING]),
                ("prev", &["AWSPREVIOUS"]),
            ],
        );
        assert_eq!(check("s", "new", &m), Ok(Decision::Run));
        assert_eq!(check("s", "old", &m), Ok(Decision::AlreadyCurrent));
        assert!(matches!(check("s", "prev", &m), Err(StageError::NotPending { .. })));
        assert!(matches!(check("s", "nope", &m), Err(StageError::NotAVersion { .. })));
        let off = meta(false, &[("new", &[AWSPENDING])]);
        assert_eq!(
            check("s", "new", &off),
            Err(StageError::RotationDisabled { id: "s".into() })
        );
    }

    #[test]
    fn finish_moves_current_once() {
        let m = meta(true, &[("old", &[AWSCURRENT]), ("new", &[AWSPENDING])]);
        assert_eq!(finish_move("s", "new", &m), Ok(Some("old")));
        let done = meta(true, &[("old", &["AWSPREVIOUS"]), ("new", &[AWSCURRENT, AWSPENDING])]);
        assert_eq!(finish_move("s", "new", &done), Ok(None));
        assert!(finish_move("s", "new", &meta(true, &[])).is_err());
        assert!(pending_left_on("new", &done));
        assert!(!pending_left_on("old", &done));
    }
}
