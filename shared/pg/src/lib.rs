//! The PostgreSQL layer every other module stands on: TLS ([`tls`]), where and
//! as whom to connect ([`target`]), connecting ([`connect`]) and the login probe
//! ([`probe`]), quoting and statements that may carry a secret ([`sql`]), errors
//! a person can act on ([`error`]), the one transaction helper with fdw-bridge's
//! one advisory lock ([`transaction`]), the FDW role's SQL ([`role`]), and what a
//! server's user mappings log in as ([`mapping_login`]), and waiting for a reader
//! to have a new password ([`replica`]).

mod admin_option;
mod connect;
mod error;
mod mapping_login;
mod probe;
mod replica;
pub mod role;
pub mod sql;
mod target;
mod tls;
mod transaction;

pub use admin_option::with_admin_option_advice;
pub use connect::{error_chain, ConnectError, Connector};
pub use error::{shorten, PgError};
pub use mapping_login::mapping_login;
pub use probe::{probe_login, Login};
pub use replica::wait_for_login;
pub use replica::{ReplicaLag, REPLICA_WAIT};
pub use role::{clone_role_name, RolePair};
pub use sql::{ident, literal};
pub use target::{ConnectTarget, Endpoint, DEFAULT_PORT};
pub use tls::{client_config, TlsError};
pub use transaction::DEFAULT_LOCK_TIMEOUT;
pub use transaction::{
    apply_in_transaction, apply_with_lock_timeout, prepare_in_transaction, LinkLock, LockWatch, SessionLock,
};

/// SQLSTATE codes by name (PostgreSQL's Appendix A), as tokio-postgres spells them.
pub use tokio_postgres::error::SqlState;

/// Class 28: the server refused the login (wrong password, no such role).
pub(crate) fn is_auth_failure(code: &SqlState) -> bool {
    code.code().starts_with("28")
}

/// Class 08, a connection exception. Raised by a server a session is still
/// open to, it comes from that server's own connection to another (postgres_fdw's
/// to the remote cluster): a lost session itself carries no SQLSTATE.
pub fn is_connection_exception(code: &SqlState) -> bool {
    code.code().starts_with("08")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlstate_classes() {
        assert!(is_auth_failure(&SqlState::INVALID_PASSWORD));
        assert!(!is_auth_failure(&SqlState::CONNECTION_FAILURE));
        assert!(is_connection_exception(&SqlState::CONNECTION_FAILURE));
        assert!(is_connection_exception(
            &SqlState::SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION
        ));
        assert!(!is_connection_exception(&SqlState::CANNOT_CONNECT_NOW));
    }
}
