//! fdw-rotate, Secrets Manager rotation of the FDW role's password: the secret
//! format ([`secret`]), the reference checks and stage moves ([`stages`], pure),
//! the SQL for both clusters ([`plan`], pure), Secrets Manager ([`store`]), the
//! catalog reads ([`inspect`]) and the four steps ([`steps`]).
//!
//! Alternating users (the default): setSecret gives the new password to the
//! role not in use (creating the clone `<role>_clone` as a member of the role
//! the first time), then switches every user mapping of the server on the local cluster
//! to it in one transaction. The role that was in use keeps its password until
//! the rotation after next, so sessions with a cached FDW connection keep working.

mod diagnostic;
mod error;
mod event;
mod inspect;
mod plan;
mod secret;
mod stages;
mod steps;
mod store;

pub use error::{RotateError, RotationFailure};
pub use event::{parse as parse_event, RotationEvent, RotationEventError};
pub use fdw_bridge_pg::RolePair;
pub use secret::RotationSecret;
pub use stages::StageError;
pub use steps::{Rotator, StepOutcome};

#[cfg(test)]
mod steps_tests;
