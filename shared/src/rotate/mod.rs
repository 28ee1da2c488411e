//! fdw-rotate, Secrets Manager rotation of the FDW role's password: the secret
//! format ([`secret`]), the reference checks and stage moves ([`stages`], pure),
//! the SQL for both clusters ([`plan`], pure), Secrets Manager ([`store`]), the
//! catalog reads ([`catalog`]) and the four steps ([`steps`]).
//!
//! Alternating users (the default): setSecret gives the new password to the
//! role not in use (creating the clone `<role>_clone` as a member of the role
//! the first time), then switches every user mapping of the server on cluster A
//! to it in one transaction. The role that was in use keeps its password until
//! the rotation after next, so sessions with a cached FDW connection keep working.

pub mod catalog;
pub mod error;
pub mod plan;
pub mod secret;
pub mod stages;
pub mod steps;
pub mod store;
