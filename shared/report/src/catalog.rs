//! The report catalog: one `.sql` file per named report, with a header of SQL
//! comments:
//!
//! ```sql
//! -- name: revenue_by_country_segment
//! -- description: what it answers
//! -- timeout: 60s
//! -- window: previous_day
//! -- params: window_start, window_end
//! ```
//!
//! The header is the first block of `-- key: value` lines; it ends at the first
//! line that is blank, a bare `--`, or SQL. Parameters are bound in the listed
//! order as `$1`, `$2`, ... (timestamptz), never spliced. Foreign tables are
//! named through placeholders, each replaced by the quoted local schema of a
//! link on cluster A: `{{remote}}` is the function's link (setting
//! `FDW_REPORT_SCHEMA`), `{{remote:payments}}` the link the function knows by
//! the name `payments` (setting `FDW_REPORT_LINKS`), so one report may join the
//! foreign tables of several remote clusters. A link name is 1 to 63
//! characters of a-z, 0-9 and _, starting with a letter.

use super::window::WindowKind;
use fdw_bridge_pg::sql::ident;
use std::time::Duration;

/// The placeholder for the local schema of the function's link (the foreign tables).
pub const REMOTE_PLACEHOLDER: &str = "{{remote}}";

/// The placeholder of a named link is `{{remote:<name>}}`.
const NAMED_PREFIX: &str = "remote:";

/// Which link's local schema a placeholder names.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LinkRef {
    /// `{{remote}}`: the function's link (FDW_REPORT_SCHEMA).
    Default,
    /// `{{remote:<name>}}`: a link of FDW_REPORT_LINKS.
    Named(String),
}

impl LinkRef {
    /// How a report names it.
    pub fn placeholder(&self) -> String {
        match self {
            Self::Default => REMOTE_PLACEHOLDER.to_string(),
            Self::Named(name) => format!("{{{{{NAMED_PREFIX}{name}}}}}"),
        }
    }
}

impl std::fmt::Display for LinkRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Default => f.write_str("the function's link (FDW_REPORT_SCHEMA)"),
            Self::Named(name) => write!(f, "link {name}"),
        }
    }
}

/// Whether `name` may name a link in a placeholder and in FDW_REPORT_LINKS:
/// 1 to 63 characters of a-z, 0-9 and _, starting with a letter.
pub fn is_link_name(name: &str) -> bool {
    name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// A piece of a report's SQL: text, or the placeholder of a link's schema.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Sql(String),
    Schema(LinkRef),
}

/// Longest statement timeout a report may ask for (Lambda runs at most 15 minutes).
pub const MAX_TIMEOUT: Duration = Duration::from_secs(900);

/// A bound parameter of a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Param {
    WindowStart,
    WindowEnd,
}

impl Param {
    pub const ALL: [Param; 2] = [Self::WindowStart, Self::WindowEnd];

    pub fn name(self) -> &'static str {
        match self {
            Self::WindowStart => "window_start",
            Self::WindowEnd => "window_end",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    pub name: String,
    pub description: String,
    /// The report's `statement_timeout`.
    pub timeout: Duration,
    pub window: WindowKind,
    /// `$1`, `$2`, ... in this order.
    pub params: Vec<Param>,
    /// The SQL after the header, split at its placeholders.
    parts: Vec<Part>,
    /// The links its placeholders name, each once, in order (the function's link first).
    links: Vec<LinkRef>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CatalogError {
    #[error("report file {file}: {reason}")]
    Invalid { file: String, reason: String },
    #[error("report {name} is defined twice (in {first} and {second}): report names are unique")]
    Duplicate {
        name: String,
        first: String,
        second: String,
    },
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown report{} {}: known reports are {} (or \"all\")", if .unknown.len() == 1 { "" } else { "s" }, .unknown.join(", "), .known.join(", "))]
pub struct UnknownReports {
    pub unknown: Vec<String>,
    pub known: Vec<String>,
}

impl Report {
    /// Parses one report file; `file` names it in errors (e.g. `revenue.sql`).
    pub fn parse(file: &str, text: &str) -> Result<Self, CatalogError> {
        let invalid = |reason: String| CatalogError::Invalid {
            file: file.to_string(),
            reason,
        };
        let mut fields: Vec<(String, String)> = Vec::new();
        let mut body_start = 0;
        for line in text.split_inclusive('\n') {
            let trimmed = line.trim();
            let Some(comment) = trimmed.strip_prefix("--") else {
                break;
            };
            let Some((key, value)) = comment.split_once(':') else {
                break;
            };
            let key = key.trim();
            if key.is_empty() || !key.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                break;
            }
            if !["name", "description", "timeout", "window", "params"].contains(&key) {
                return Err(invalid(format!(
                    "unknown header key {key:?} (known: name, description, timeout, window, params)"
                )));
            }
            if fields.iter().any(|(k, _)| k == key) {
                return Err(invalid(format!("header key {key:?} is given twice")));
            }
            fields.push((key.to_string(), value.trim().to_string()));
            body_start += line.len();
        }
        let field = |key: &str| {
            fields
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
                .ok_or_else(|| invalid(format!("the header has no `-- {key}:` line")))
        };
        let name = field("name")?;
        if name.is_empty()
            || name.len() > 63
            || !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(invalid(format!(
                "report name {name:?} must be 1 to 63 characters of a-z, 0-9 and _"
            )));
        }
        let description = field("description")?;
        let timeout = parse_timeout(&field("timeout")?).map_err(invalid)?;
        let window_text = field("window")?;
        let window = WindowKind::parse(&window_text).ok_or_else(|| {
            invalid(format!(
                "window {window_text:?} is not one of {}",
                WindowKind::ALL.map(WindowKind::name).join(", ")
            ))
        })?;
        let mut params = Vec::new();
        for p in field("params")?.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let param = Param::ALL.into_iter().find(|k| k.name() == p).ok_or_else(|| {
                invalid(format!(
                    "parameter {p:?} is not one of {}",
                    Param::ALL.map(Param::name).join(", ")
                ))
            })?;
            if params.contains(&param) {
                return Err(invalid(format!("parameter {p} is listed twice")));
            }
            params.push(param);
        }
        let template = text[body_start..].trim().trim_end_matches(';').trim_end().to_string();
        if template.is_empty() {
            return Err(invalid("there is no SQL after the header".into()));
        }
        let parts = split_placeholders(&template).map_err(invalid)?;
        let mut links: Vec<LinkRef> = parts
            .iter()
            .filter_map(|p| match p {
                Part::Schema(link) => Some(link.clone()),
                Part::Sql(_) => None,
            })
            .collect();
        links.sort();
        links.dedup();
        let highest = highest_parameter(&template);
        if highest > params.len() {
            return Err(invalid(format!(
                "the SQL uses ${highest} but the header lists {} parameter(s) ({})",
                params.len(),
                params.iter().map(|p| p.name()).collect::<Vec<_>>().join(", ")
            )));
        }
        Ok(Self {
            name,
            description,
            timeout,
            window,
            params,
            parts,
            links,
        })
    }

    /// The SQL with every placeholder replaced by this one schema, quoted: a
    /// report of the function's link alone, or the co-located copies of every
    /// remote table in one schema (the tests' and the bench's oracle).
    pub fn sql(&self, remote_schema: &str) -> String {
        let schema = ident(remote_schema);
        self.parts
            .iter()
            .map(|part| match part {
                Part::Sql(text) => text.as_str(),
                Part::Schema(_) => schema.as_str(),
            })
            .collect()
    }

    /// The SQL with each link's local schema quoted in; the first link that
    /// `schema_of` does not know is the error.
    pub fn sql_for<'s>(&self, schema_of: impl Fn(&LinkRef) -> Option<&'s str>) -> Result<String, LinkRef> {
        let mut sql = String::new();
        for part in &self.parts {
            match part {
                Part::Sql(text) => sql.push_str(text),
                Part::Schema(link) => sql.push_str(&ident(schema_of(link).ok_or_else(|| link.clone())?)),
            }
        }
        Ok(sql)
    }

    /// Does the report read through a link at all?
    pub fn uses_remote(&self) -> bool {
        !self.links.is_empty()
    }

    /// The links the report reads through, each once (the function's link first, then by name).
    pub fn links(&self) -> &[LinkRef] {
        &self.links
    }
}

/// The SQL split at its placeholders: `{{remote}}` and `{{remote:<link name>}}`
/// are the only text allowed between double braces.
fn split_placeholders(sql: &str) -> Result<Vec<Part>, String> {
    let unknown = |at: usize, why: &str| {
        let from = sql[..at].char_indices().rev().nth(8).map_or(0, |(i, _)| i);
        let shown: String = sql[from..].chars().take(24).collect();
        format!(
            "unknown placeholder near {shown:?}: {why}; the placeholders are {REMOTE_PLACEHOLDER} (the function's link's local schema) \
             and {{{{{NAMED_PREFIX}<link name>}}}} (a link of FDW_REPORT_LINKS; a-z, 0-9 and _, starting with a letter)"
        )
    };
    let mut parts = Vec::new();
    let mut rest = 0;
    while let Some(open) = sql[rest..].find("{{").map(|i| rest + i) {
        if let Some(close) = sql[rest..open].find("}}") {
            return Err(unknown(rest + close, "a }} without its {{"));
        }
        let Some(close) = sql[open + 2..].find("}}").map(|i| open + 2 + i) else {
            return Err(unknown(open, "a {{ without its }}"));
        };
        let inner = &sql[open + 2..close];
        let link = if inner == "remote" {
            LinkRef::Default
        } else {
            match inner.strip_prefix(NAMED_PREFIX) {
                Some(name) if is_link_name(name) => LinkRef::Named(name.to_string()),
                Some(_) => {
                    return Err(unknown(
                        open,
                        "the link name is not 1 to 63 characters of a-z, 0-9 and _",
                    ))
                }
                None => return Err(unknown(open, "not a link's schema")),
            }
        };
        if open > rest {
            parts.push(Part::Sql(sql[rest..open].to_string()));
        }
        parts.push(Part::Schema(link));
        rest = close + 2;
    }
    if let Some(close) = sql[rest..].find("}}") {
        return Err(unknown(rest + close, "a }} without its {{"));
    }
    if rest < sql.len() {
        parts.push(Part::Sql(sql[rest..].to_string()));
    }
    Ok(parts)
}

/// The highest `$n` in the SQL (0 when none).
fn highest_parameter(sql: &str) -> usize {
    let bytes = sql.as_bytes();
    let mut highest = 0;
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'$' && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric()) {
            let digits: String = sql[i + 1..].chars().take_while(char::is_ascii_digit).collect();
            if let Ok(n) = digits.parse::<usize>() {
                highest = highest.max(n);
            }
        }
    }
    highest
}

/// `500ms`, `30s`, `2min`; from 1 ms to 15 minutes.
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("timeout {text:?} must be a whole number with ms, s or min, e.g. 30s"))?;
    let timeout = match unit.trim() {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "min" => Duration::from_secs(n.saturating_mul(60)),
        _ => {
            return Err(format!(
                "timeout {text:?} must be a whole number with ms, s or min, e.g. 30s"
            ))
        }
    };
    if timeout.is_zero() || timeout > MAX_TIMEOUT {
        return Err(format!("timeout {text:?} must be between 1ms and 15min"));
    }
    Ok(timeout)
}

/// Named reports, in name order.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    reports: Vec<Report>,
}

impl Catalog {
    /// The reports of `reports/`, compiled in.
    pub fn shipped() -> Result<Self, CatalogError> {
        Self::from_files(super::shipped::SHIPPED)
    }

    /// Parses (file name, text) pairs; a file's report name must match its file name.
    pub fn from_files(files: &[(&str, &str)]) -> Result<Self, CatalogError> {
        let mut catalog = Self::default();
        for (file, text) in files {
            let report = Report::parse(file, text)?;
            let stem = file.strip_suffix(".sql").unwrap_or(file);
            if stem != report.name {
                return Err(CatalogError::Invalid {
                    file: file.to_string(),
                    reason: format!(
                        "its header names it {:?}: name the file {}.sql",
                        report.name, report.name
                    ),
                });
            }
            catalog = catalog.with(report, file)?;
        }
        Ok(catalog)
    }

    /// Adds one report (`origin` names where it came from in errors).
    pub fn with(mut self, report: Report, origin: &str) -> Result<Self, CatalogError> {
        if self.get(&report.name).is_some() {
            return Err(CatalogError::Duplicate {
                name: report.name.clone(),
                first: format!("{}.sql", report.name),
                second: origin.to_string(),
            });
        }
        self.reports.push(report);
        self.reports.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(self)
    }

    pub fn get(&self, name: &str) -> Option<&Report> {
        self.reports.iter().find(|r| r.name == name)
    }

    pub fn reports(&self) -> &[Report] {
        &self.reports
    }

    pub fn names(&self) -> Vec<String> {
        self.reports.iter().map(|r| r.name.clone()).collect()
    }

    /// The reports a request names (`None` = all), in catalog order, each once.
    pub fn select(&self, names: Option<&[String]>) -> Result<Vec<&Report>, UnknownReports> {
        let Some(names) = names else {
            return Ok(self.reports.iter().collect());
        };
        let mut unknown: Vec<String> = names.iter().filter(|n| self.get(n).is_none()).cloned().collect();
        unknown.dedup();
        if !unknown.is_empty() {
            return Err(UnknownReports {
                unknown,
                known: self.names(),
            });
        }
        Ok(self.reports.iter().filter(|r| names.contains(&r.name)).collect())
    }
}
