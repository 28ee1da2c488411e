//! A PostgreSQL error a person can act on: the cause first (the server's
//! message, detail and hint, SQLSTATE), then what we were doing, then what to
//! do, and the statement last and shortened (an IMPORT list of 300 tables
//! would otherwise fill CloudFormation's 4 KB Reason before the cause).
//! Never carries statement text that holds a secret: callers pass the shown form.

use super::SqlState;
use std::fmt;

/// Statement text kept in an error: enough to recognise it, never the whole list.
pub const STATEMENT_SHOWN_BYTES: usize = 160;

#[derive(Debug, Clone, Default)]
pub struct PgError {
    /// What was being done ("reading the catalog", "running IMPORT FOREIGN SCHEMA").
    pub during: String,
    /// SQLSTATE, when the server sent one.
    pub code: Option<SqlState>,
    /// The server's message (or the client error chain).
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
    /// What to do about it, when fdw-bridge knows more than the server (the
    /// sessions holding a lock, the views depending on a table).
    pub advice: Option<String>,
    /// The statement that failed, as shown (never one carrying a secret in clear).
    pub statement: Option<String>,
}

impl PgError {
    pub fn new(during: &str, e: &tokio_postgres::Error) -> Self {
        match e.as_db_error() {
            Some(db) => Self {
                during: during.to_string(),
                code: Some(db.code().clone()),
                message: db.message().to_string(),
                detail: db.detail().map(str::to_string),
                hint: db.hint().map(str::to_string),
                advice: None,
                statement: None,
            },
            None => Self {
                during: during.to_string(),
                code: None,
                message: super::error_chain(e),
                detail: None,
                hint: None,
                advice: None,
                statement: None,
            },
        }
    }

    /// The server's message with its detail, for matching words that another
    /// layer put in the detail (postgres_fdw passes libpq's and cluster B's
    /// messages there).
    pub fn message_and_detail(&self) -> String {
        match &self.detail {
            Some(detail) => format!("{} ({detail})", self.message),
            None => self.message.clone(),
        }
    }

    /// An error of one statement: `shown` is its loggable text. "What we were
    /// doing" is the statement's leading keywords (`running DROP FOREIGN TABLE`).
    pub fn in_statement(shown: &str, e: &tokio_postgres::Error) -> Self {
        let mut err = Self::new(&format!("running {}", leading_keywords(shown)), e);
        err.statement = Some(shown.to_string());
        err
    }

    pub fn with_advice(mut self, advice: impl Into<String>) -> Self {
        self.advice = Some(advice.into());
        self
    }

    pub fn is(&self, code: &SqlState) -> bool {
        self.code.as_ref() == Some(code)
    }
}

/// `IMPORT FOREIGN SCHEMA "x" LIMIT TO (...)` → `IMPORT FOREIGN SCHEMA`.
fn leading_keywords(statement: &str) -> String {
    let words: Vec<&str> = statement
        .split_whitespace()
        .take_while(|w| w.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        .take(5)
        .collect();
    if words.is_empty() {
        "a statement".to_string()
    } else {
        words.join(" ")
    }
}

/// `text` cut to at most `max` bytes on a character boundary, saying how much was left out.
pub fn shorten(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut keep = max;
    while !text.is_char_boundary(keep) {
        keep -= 1;
    }
    format!("{} … ({} bytes in all)", &text[..keep], text.len())
}

impl fmt::Display for PgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(detail) = &self.detail {
            write!(f, " (detail: {detail})")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, " (hint: {hint})")?;
        }
        if let Some(code) = &self.code {
            write!(f, " [SQLSTATE {}]", code.code())?;
        }
        write!(f, ", while {}", self.during)?;
        if let Some(advice) = &self.advice {
            write!(f, ". {advice}")?;
        }
        if let Some(statement) = &self.statement {
            write!(f, ". Statement: {}", shorten(statement, STATEMENT_SHOWN_BYTES))?;
        }
        Ok(())
    }
}

impl std::error::Error for PgError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn import_error(tables: usize) -> PgError {
        let list: Vec<String> = (0..tables).map(|i| format!("\"table_{i}\"")).collect();
        PgError {
            during: format!("running {}", leading_keywords("IMPORT FOREIGN SCHEMA \"shop\"")),
            code: Some(SqlState::INVALID_SCHEMA_NAME),
            message: "schema \"shop\" does not exist".into(),
            detail: Some("the detail".into()),
            hint: Some("the hint".into()),
            advice: None,
            statement: Some(format!(
                "IMPORT FOREIGN SCHEMA \"shop\" LIMIT TO ({}) FROM SERVER \"s\" INTO \"l\"",
                list.join(", ")
            )),
        }
    }

    #[test]
    fn the_cause_leads_and_the_statement_comes_last_and_short() {
        let text = import_error(300).to_string();
        assert!(
            text.starts_with(
                "schema \"shop\" does not exist (detail: the detail) (hint: the hint) [SQLSTATE 3F000], \
                 while running IMPORT FOREIGN SCHEMA. Statement: IMPORT FOREIGN SCHEMA \"shop\" LIMIT TO"
            ),
            "{text}"
        );
        assert!(text.len() < 400, "{} bytes: {text}", text.len());
        assert!(text.ends_with("bytes in all)"), "{text}");
        assert!(!text.contains("table_299"));
    }

    #[test]
    fn advice_comes_before_the_statement() {
        let text = import_error(1).with_advice("do this").to_string();
        let (advice, statement) = (text.find("do this").unwrap(), text.find("Statement:").unwrap());
        assert!(advice < statement, "{text}");
    }

    #[test]
    fn shorten_keeps_char_boundaries() {
        assert_eq!(shorten("abc", 10), "abc");
        assert_eq!(shorten("ééé", 3), "é … (6 bytes in all)");
    }
}
