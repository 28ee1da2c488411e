//! A PostgreSQL error with what we were doing, the server's message, detail and
//! hint, on one line a person can act on. Never carries statement text that
//! holds a secret: callers pass the shown form.

use super::SqlState;
use std::fmt;

#[derive(Debug, Clone)]
pub struct PgError {
    /// What was being done ("reading the catalog", or the shown statement).
    pub during: String,
    /// SQLSTATE, when the server sent one.
    pub code: Option<SqlState>,
    pub message: String,
}

impl PgError {
    pub fn new(during: &str, e: &tokio_postgres::Error) -> Self {
        match e.as_db_error() {
            Some(db) => {
                let mut message = db.message().to_string();
                if let Some(detail) = db.detail() {
                    message.push_str(&format!(" ({detail})"));
                }
                if let Some(hint) = db.hint() {
                    message.push_str(&format!(" hint: {hint}"));
                }
                Self {
                    during: during.to_string(),
                    code: Some(db.code().clone()),
                    message,
                }
            }
            None => Self {
                during: during.to_string(),
                code: None,
                message: super::error_chain(e),
            },
        }
    }
}

impl fmt::Display for PgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed: {}", self.during, self.message)?;
        if let Some(code) = &self.code {
            write!(f, " [SQLSTATE {}]", code.code())?;
        }
        Ok(())
    }
}

impl std::error::Error for PgError {}
