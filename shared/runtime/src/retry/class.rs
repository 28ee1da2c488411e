//! What is worth another attempt. Pure: SQLSTATEs and the words libpq and
//! PostgreSQL use, never a connection.
//!
//! postgres_fdw reports every failed connection to cluster B on cluster A as
//! "could not connect to server" (SQLSTATE 08001) with libpq's and B's own
//! message in the detail, so B's refusal is known only by those words: a
//! refused or reset connection, a cluster starting up or shutting down, no
//! free slot. The same 08001 with a certificate or a password in its detail
//! is a mistake that no attempt mends, and fails at once.

use fdw_bridge_pg::{ConnectError, PgError, SqlState};

/// Why a failure may pass by itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transient {
    /// No free connection slot (the cluster's, or a role's or database's CONNECTION LIMIT).
    NoSlot,
    /// Refused, reset, timed out, starting up, shutting down: a restart or a failover.
    Unreachable,
    /// A read-only transaction where a writer was expected: a writer just
    /// demoted by a failover, reached through a stale DNS answer.
    ReadOnly,
}

impl Transient {
    /// What happened, for the log line of each retry and the final error.
    pub fn describe(self) -> &'static str {
        match self {
            Self::NoSlot => "refused for lack of connection slots",
            Self::Unreachable => "unreachable (refused, reset, timed out, starting up or shutting down)",
            Self::ReadOnly => "read-only where a writer was expected (a writer demoted by a failover)",
        }
    }

    /// What to check when it outlasts the invocation.
    pub fn advice(self) -> &'static str {
        match self {
            Self::NoSlot => {
                "check the cluster's connections (README \"Sizing cluster B's connections\") or run fewer invocations at once"
            }
            Self::Unreachable => {
                "check the cluster's status and events (a failover or reboot in progress?), its security groups, \
                 and the network between the functions and the clusters, then rerun"
            }
            Self::ReadOnly => {
                "check that the endpoint is the cluster's writer endpoint and that its failover has finished, then rerun"
            }
        }
    }
}

/// An error that knows whether another attempt may succeed.
pub trait Retryable {
    fn transient(&self) -> Option<Transient>;
}

/// Words that make a failure permanent even beside transient ones: a
/// certificate, a password or a missing object is not mended by waiting.
const PERMANENT: [&str; 6] = [
    "certificate",
    "password authentication failed",
    "no pg_hba.conf entry",
    "does not exist",
    "permission denied",
    "password is required",
];

const NO_SLOT: [&str; 4] = [
    "remaining connection slots are reserved",
    "sorry, too many clients already",
    "too many connections for role",
    "too many connections for database",
];

/// libpq's, the OS's and PostgreSQL's words for a cluster that is not there
/// right now (lower case).
const UNREACHABLE: [&str; 18] = [
    "connection refused",
    "closed unexpectedly",
    "connection reset",
    "broken pipe",
    "server closed the connection unexpectedly",
    "could not receive data from server",
    "could not send data to server",
    "no route to host",
    "network is unreachable",
    "timeout expired",
    "timed out",
    "eof detected",
    "unexpected eof",
    "connection closed",
    "terminating connection due to administrator command",
    "the database system is starting up",
    "the database system is shutting down",
    "the database system is not yet accepting connections",
];

/// A failure known only by its text (postgres_fdw's detail, an I/O error).
pub fn of_text(text: &str) -> Option<Transient> {
    let lower = text.to_ascii_lowercase();
    if PERMANENT.iter().any(|w| lower.contains(w)) {
        return None;
    }
    if NO_SLOT.iter().any(|w| lower.contains(w)) {
        return Some(Transient::NoSlot);
    }
    if UNREACHABLE.iter().any(|w| lower.contains(w)) || lower.contains("in recovery mode") {
        return Some(Transient::Unreachable);
    }
    None
}

/// A statement's or session's failure: its SQLSTATE first, its words where the
/// SQLSTATE is postgres_fdw's (08001) or missing (the connection itself broke).
pub fn of_pg(code: Option<&SqlState>, message_and_detail: &str) -> Option<Transient> {
    let Some(code) = code else {
        return of_text(message_and_detail);
    };
    if *code == SqlState::TOO_MANY_CONNECTIONS {
        Some(Transient::NoSlot)
    } else if *code == SqlState::ADMIN_SHUTDOWN
        || *code == SqlState::CRASH_SHUTDOWN
        || *code == SqlState::CANNOT_CONNECT_NOW
    {
        Some(Transient::Unreachable)
    } else if *code == SqlState::READ_ONLY_SQL_TRANSACTION {
        Some(Transient::ReadOnly)
    } else if *code == SqlState::SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION {
        of_text(message_and_detail)
    } else if *code == SqlState::CONNECTION_EXCEPTION
        || *code == SqlState::CONNECTION_DOES_NOT_EXIST
        || *code == SqlState::CONNECTION_FAILURE
    {
        // A broken connection, unless its words say it was a mistake.
        of_text(message_and_detail).or(Some(Transient::Unreachable))
    } else {
        None
    }
}

/// A session that could not be opened.
pub fn of_connect(e: &ConnectError) -> Option<Transient> {
    match e {
        ConnectError::Timeout { .. } => Some(Transient::Unreachable),
        // A handshake cut by a restart is worth another; a certificate never is.
        ConnectError::Tls { reason, .. } => of_text(reason),
        ConnectError::Auth { .. } => None,
        ConnectError::Other { sqlstate, reason, .. } => of_pg(sqlstate.as_ref(), reason),
    }
}

impl Retryable for ConnectError {
    fn transient(&self) -> Option<Transient> {
        of_connect(self)
    }
}

impl Retryable for PgError {
    fn transient(&self) -> Option<Transient> {
        of_pg(self.code.as_ref(), &self.message_and_detail())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// postgres_fdw's error on A when B refused: 08001 and B's words in the detail.
    fn through_fdw(detail: &str) -> PgError {
        PgError {
            during: "report r".into(),
            code: Some(SqlState::SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION),
            message: "could not connect to server \"orders_link\"".into(),
            detail: Some(detail.into()),
            ..Default::default()
        }
    }

    fn coded(code: SqlState, message: &str) -> PgError {
        PgError {
            code: Some(code),
            message: message.into(),
            ..Default::default()
        }
    }

    #[test]
    fn cluster_b_down_or_restarting_behind_postgres_fdw_is_retried() {
        for detail in [
            "connection to server at \"127.0.0.1\", port 5432 failed: Connection refused\n\tIs the server running on that host and accepting TCP/IP connections?",
            "connection to server at \"b\" (10.0.0.2), port 5432 failed: FATAL:  the database system is starting up",
            "connection to server at \"b\", port 5432 failed: FATAL:  the database system is shutting down",
            "connection to server at \"b\", port 5432 failed: FATAL:  the database system is not yet accepting connections\nDETAIL:  Consistent recovery state has not been yet reached.",
            "connection to server at \"b\", port 5432 failed: timeout expired",
            "server closed the connection unexpectedly\n\tThis probably means the server terminated abnormally",
        ] {
            assert_eq!(through_fdw(detail).transient(), Some(Transient::Unreachable), "{detail}");
        }
        assert_eq!(
            through_fdw("connection to server at \"b\", port 5432 failed: FATAL:  remaining connection slots are reserved for non-replication superuser connections").transient(),
            Some(Transient::NoSlot)
        );
        assert_eq!(
            through_fdw("FATAL:  too many connections for role \"fdw_orders\"").transient(),
            Some(Transient::NoSlot)
        );
    }

    #[test]
    fn mistakes_behind_postgres_fdw_fail_at_once() {
        for detail in [
            "connection to server at \"b\", port 5432 failed: SSL error: certificate verify failed",
            "connection to server at \"b\", port 5432 failed: FATAL:  password authentication failed for user \"fdw_orders\"",
            "connection to server at \"b\", port 5432 failed: FATAL:  database \"nope\" does not exist",
            "could not translate host name \"nope.example\" to address: Name or service not known",
        ] {
            assert_eq!(through_fdw(detail).transient(), None, "{detail}");
        }
    }

    #[test]
    fn sqlstates_decide_where_there_is_one() {
        assert_eq!(
            coded(
                SqlState::ADMIN_SHUTDOWN,
                "terminating connection due to administrator command"
            )
            .transient(),
            Some(Transient::Unreachable)
        );
        assert_eq!(
            coded(
                SqlState::CRASH_SHUTDOWN,
                "terminating connection because of crash of another server process"
            )
            .transient(),
            Some(Transient::Unreachable)
        );
        assert_eq!(
            coded(SqlState::CANNOT_CONNECT_NOW, "the database system is in recovery mode").transient(),
            Some(Transient::Unreachable)
        );
        assert_eq!(
            coded(
                SqlState::READ_ONLY_SQL_TRANSACTION,
                "cannot execute CREATE ROLE in a read-only transaction"
            )
            .transient(),
            Some(Transient::ReadOnly)
        );
        assert_eq!(
            coded(SqlState::TOO_MANY_CONNECTIONS, "x").transient(),
            Some(Transient::NoSlot)
        );
        assert_eq!(
            coded(SqlState::CONNECTION_FAILURE, "lost connection to server").transient(),
            Some(Transient::Unreachable)
        );
        // Words that sound transient do not override a SQLSTATE that is not.
        assert_eq!(
            coded(SqlState::QUERY_CANCELED, "canceling statement due to statement timeout").transient(),
            None
        );
        assert_eq!(
            coded(SqlState::INSUFFICIENT_PRIVILEGE, "permission denied").transient(),
            None
        );
        assert_eq!(coded(SqlState::SYNTAX_ERROR, "connection refused").transient(), None);
    }

    #[test]
    fn a_broken_session_without_sqlstate_is_known_by_its_words() {
        let broken = |message: &str| PgError {
            message: message.into(),
            ..Default::default()
        };
        assert_eq!(broken("connection closed").transient(), Some(Transient::Unreachable));
        assert_eq!(
            broken("error communicating with the server: Connection reset by peer (os error 104)").transient(),
            Some(Transient::Unreachable)
        );
        assert_eq!(broken("unexpected message from server").transient(), None);
    }

    #[test]
    fn sessions_refused_for_now_are_retried_and_mistakes_are_not() {
        let other = |reason: &str, sqlstate: Option<SqlState>| ConnectError::Other {
            label: "cluster A writer".into(),
            endpoint: "a:5432".into(),
            dbname: "users".into(),
            user: "u".into(),
            reason: reason.into(),
            sqlstate,
        };
        assert_eq!(
            other("error connecting to server: Connection refused (os error 111)", None).transient(),
            Some(Transient::Unreachable)
        );
        assert_eq!(
            other(
                "db error: FATAL: the database system is starting up",
                Some(SqlState::CANNOT_CONNECT_NOW)
            )
            .transient(),
            Some(Transient::Unreachable)
        );
        assert_eq!(
            other(
                "db error: FATAL: sorry, too many clients already",
                Some(SqlState::TOO_MANY_CONNECTIONS)
            )
            .transient(),
            Some(Transient::NoSlot)
        );
        assert_eq!(
            other(
                "db error: FATAL: database \"x\" does not exist",
                Some(SqlState::INVALID_CATALOG_NAME)
            )
            .transient(),
            None
        );
        assert_eq!(
            other(
                "error connecting to server: failed to lookup address information: Name or service not known",
                None
            )
            .transient(),
            None
        );
        let timeout = ConnectError::Timeout {
            label: "l".into(),
            endpoint: "e".into(),
            dbname: "d".into(),
            user: "u".into(),
            secs: 5,
        };
        assert_eq!(timeout.transient(), Some(Transient::Unreachable));
        let tls = |reason: &str| ConnectError::Tls {
            label: "l".into(),
            endpoint: "e".into(),
            reason: reason.into(),
        };
        assert_eq!(
            tls("error performing TLS handshake: invalid peer certificate: UnknownIssuer").transient(),
            None
        );
        assert_eq!(
            tls("error performing TLS handshake: Connection reset by peer (os error 104)").transient(),
            Some(Transient::Unreachable)
        );
        let auth = ConnectError::Auth {
            label: "l".into(),
            endpoint: "e".into(),
            dbname: "d".into(),
            user: "u".into(),
            reason: "password authentication failed".into(),
            credential_source: "s".into(),
        };
        assert_eq!(auth.transient(), None);
    }
}
