//! Why a rotation step failed, naming the secret, version, cluster or role,
//! and what to do. Never a password.

use super::event::RotationEventError;
use super::plan::RotationPlanError;
use super::secret::SecretFormatError;
use super::stages::{StageError, Step};
use super::store::RotationStoreError;
use fdw_bridge_aws::SecretError;
use fdw_bridge_pg::ConnectError;
use fdw_bridge_pg::PgError;
use fdw_bridge_pg::ReplicaLag;
use fdw_bridge_runtime::retry::{Outage, Retryable, Transient};

#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    #[error(transparent)]
    Stage(#[from] StageError),
    #[error(transparent)]
    Store(#[from] RotationStoreError),
    #[error(transparent)]
    Format(#[from] SecretFormatError),
    #[error(transparent)]
    Plan(#[from] RotationPlanError),
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("secret {id} has no AWSPENDING value for version {token}: createSecret must run for this version first")]
    NoPending { id: String, token: String },
    #[error("secret {id} has no AWSCURRENT value: store the FDW role's credentials in it first")]
    NoCurrent { id: String },
    #[error("{what} (key {key} of secret {id}): {source}")]
    AdminSecret {
        what: &'static str,
        key: &'static str,
        id: String,
        source: SecretError,
    },
    #[error("{cluster}: {source}")]
    Sql { cluster: String, source: PgError },
    #[error("foreign server {server} does not exist on cluster A (database {dbname}): fix key server in secret {id}, or create the link first")]
    ServerMissing { server: String, dbname: String, id: String },
    #[error("foreign server {server} on cluster A has no user mapping: nothing would use the new password (create the link with fdw-bootstrap)")]
    NoMappings { server: String },
    #[error("the local admin's user mapping for server {server} on cluster A logs in as {found}, not as the pending user {pending}: setSecret has not switched the mappings yet")]
    MappingNotSwitched {
        server: String,
        found: String,
        pending: String,
    },
    #[error("the pending version would set a new password for {user}, but {user} is the role cluster A's user mappings log in as now (server {server}): new cross-database connections would fail. The version was made before the mappings switched (an abandoned or racing rotation): cancel this rotation and start a new one, whose createSecret picks the idle role")]
    PendingIsInUse { user: String, server: String },
    #[error(transparent)]
    ReplicaLag(#[from] ReplicaLag),
    #[error("the probe query through foreign table {table} of server {server} on cluster A failed: {source}: the user mappings cannot log in to cluster B with the pending credentials")]
    Probe {
        server: String,
        table: String,
        source: PgError,
    },
    /// A failover, restart or lack of slots that outlasted the invocation.
    #[error("{}", .outage.explain(source))]
    Outage {
        outage: Outage,
        #[source]
        source: Box<RotateError>,
    },
}

/// Every step is safe to repeat (it starts from what the secret and the
/// clusters hold), so a step that met a failover is run again whole.
impl Retryable for RotateError {
    fn transient(&self) -> Option<Transient> {
        match self {
            Self::Connect(e) => e.transient(),
            Self::Sql { source, .. } | Self::Probe { source, .. } => source.transient(),
            _ => None,
        }
    }
}

/// Why an invocation failed: the event could not be read, or its step failed.
#[derive(Debug, thiserror::Error)]
pub enum RotationFailure {
    #[error("unusable rotation event, nothing was done: {0}")]
    Event(#[from] RotationEventError),
    #[error("{step} for secret {secret} failed: {source}")]
    Step {
        step: Step,
        secret: String,
        #[source]
        source: RotateError,
    },
}
