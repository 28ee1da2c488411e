//! SQL text built from outside data: every identifier and literal goes through
//! postgres-protocol's escape functions, and a statement that carries a secret
//! knows it, so that logs and errors only ever see its redacted form.

use postgres_protocol::escape::{escape_identifier, escape_literal};
use std::fmt;

/// A quoted identifier (`"name"`), safe to splice into SQL text.
pub fn ident(name: &str) -> String {
    escape_identifier(name)
}

/// `"schema"."name"`.
pub fn qualified(schema: &str, name: &str) -> String {
    format!("{}.{}", ident(schema), ident(name))
}

/// A quoted string literal (`'value'`, or ` E'...'` when it holds backslashes).
pub fn literal(value: &str) -> String {
    escape_literal(value)
}

/// One SQL statement to run, with the text that may be shown to people.
#[derive(Clone, PartialEq, Eq)]
pub struct Statement {
    sql: String,
    shown: Option<String>,
}

impl Statement {
    /// A statement with nothing secret in it.
    pub fn plain(sql: impl Into<String>) -> Self {
        Self {
            sql: sql.into(),
            shown: None,
        }
    }

    /// A statement carrying a secret; `shown` is the same statement with the secret replaced.
    pub fn secret(sql: impl Into<String>, shown: impl Into<String>) -> Self {
        Self {
            sql: sql.into(),
            shown: Some(shown.into()),
        }
    }

    /// The text to execute. Never log this.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The text safe for logs, errors and responses.
    pub fn shown(&self) -> &str {
        self.shown.as_deref().unwrap_or(&self.sql)
    }

    pub fn carries_secret(&self) -> bool {
        self.shown.is_some()
    }
}

impl fmt::Debug for Statement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.shown())
    }
}

impl fmt::Display for Statement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.shown())
    }
}

/// What a secret literal looks like in shown statements.
pub const REDACTED: &str = "'********'";

/// Settings that keep a statement's text out of the server log. Passwords in
/// `CREATE ROLE ... PASSWORD` and user mappings take no bind parameters, so the
/// text itself must not be logged, not even when the statement fails.
pub const QUIET_LOGGING: [&str; 3] = [
    "SET LOCAL log_statement = 'none'",
    "SET LOCAL log_min_duration_statement = -1",
    "SET LOCAL log_min_error_statement = 'panic'",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_identifier_stays_one_identifier() {
        assert_eq!(ident(r#"x"; DROP TABLE users; --"#), r#""x""; DROP TABLE users; --""#);
    }

    #[test]
    fn literal_with_quote_and_backslash() {
        assert_eq!(literal("it's"), "'it''s'");
        assert_eq!(literal(r"a\b"), r" E'a\\b'");
    }

    #[test]
    fn secret_statement_never_shows_its_text() {
        let s = Statement::secret("ALTER ROLE r PASSWORD 'hunter2'", "ALTER ROLE r PASSWORD '********'");
        assert!(!format!("{s} {s:?}").contains("hunter2"));
        assert!(s.sql().contains("hunter2"));
        assert!(s.carries_secret());
    }
}
