//! The login probe: do these credentials log in? Used wherever a stored
//! password must be checked before it is set again (the link's FDW role,
//! rotation's pending version).

use super::connect::{ConnectError, Connector};
use super::target::ConnectTarget;
use super::SqlState;

/// What a login attempt proved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Login {
    /// The session opened.
    Works,
    /// The password is right but the role may not CONNECT to the database
    /// (SQLSTATE 42501: the server checks that after the password).
    NoConnectPrivilege,
    /// The server refused the credentials (SQLSTATE class 28).
    Refused,
}

impl Login {
    /// Whether the password itself is right.
    pub fn password_works(self) -> bool {
        matches!(self, Self::Works | Self::NoConnectPrivilege)
    }
}

/// Tries to log in as `target`; any other failure (the cluster down, TLS) is an error.
pub async fn probe_login(connector: &Connector, target: &ConnectTarget) -> Result<Login, ConnectError> {
    match connector.connect(target).await {
        Ok(_) => Ok(Login::Works),
        Err(ConnectError::Auth { .. }) => Ok(Login::Refused),
        Err(ConnectError::Other {
            sqlstate: Some(code), ..
        }) if code == SqlState::INSUFFICIENT_PRIVILEGE => Ok(Login::NoConnectPrivilege),
        Err(e) => Err(e),
    }
}
