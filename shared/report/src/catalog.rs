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
        let (fields, body_start) = read_header(text).map_err(invalid)?;
        let field = |key: &str| {
            fields
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
                .ok_or_else(|| format!("the header has no `-- {key}:` line"))
        };
        let name = field("name").and_then(checked_name).map_err(invalid)?;
        let description = field("description").map_err(invalid)?;
        let timeout = field("timeout").and_then(|t| parse_timeout(&t)).map_err(invalid)?;
        let window = field("window").and_then(|w| parse_window(&w)).map_err(invalid)?;
        let params = field("params").and_then(|p| parse_params(&p)).map_err(invalid)?;
        let template = text[body_start..].trim().trim_end_matches(';').trim_end().to_string();
        if template.is_empty() {
            return Err(invalid("there is no SQL after the header".into()));
        }
        let parts = split_placeholders(&template).map_err(invalid)?;
        let links = links_named(&parts);
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

/// The header's `-- key: value` lines (up to the first line that is not one)
/// and where the SQL after them starts; refuses unknown and repeated keys.
fn read_header(text: &str) -> Result<(Vec<(String, String)>, usize), String> {
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
            return Err(format!(
                "unknown header key {key:?} (known: name, description, timeout, window, params)"
            ));
        }
        if fields.iter().any(|(k, _)| k == key) {
            return Err(format!("header key {key:?} is given twice"));
        }
        fields.push((key.to_string(), value.trim().to_string()));
        body_start += line.len();
    }
    Ok((fields, body_start))
}

/// The report's name, when it can name a stored result (a PostgreSQL identifier of its own).
fn checked_name(name: String) -> Result<String, String> {
    if name.is_empty()
        || name.len() > 63
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(format!(
            "report name {name:?} must be 1 to 63 characters of a-z, 0-9 and _"
        ));
    }
    Ok(name)
}

fn parse_window(text: &str) -> Result<WindowKind, String> {
    WindowKind::parse(text).ok_or_else(|| {
        format!(
            "window {text:?} is not one of {}",
            WindowKind::ALL.map(WindowKind::name).join(", ")
        )
    })
}

/// The `params` header: known parameters, each once, in the order of `$1`, `$2`, ...
fn parse_params(text: &str) -> Result<Vec<Param>, String> {
    let mut params = Vec::new();
    for p in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let param = Param::ALL.into_iter().find(|k| k.name() == p).ok_or_else(|| {
            format!(
                "parameter {p:?} is not one of {}",
                Param::ALL.map(Param::name).join(", ")
            )
        })?;
        if params.contains(&param) {
            return Err(format!("parameter {p} is listed twice"));
        }
        params.push(param);
    }
    Ok(params)
}

/// The links the placeholders name, each once, in order.
fn links_named(parts: &[Part]) -> Vec<LinkRef> {
    let mut links: Vec<LinkRef> = parts
        .iter()
        .filter_map(|p| match p {
            Part::Schema(link) => Some(link.clone()),
            Part::Sql(_) => None,
        })
        .collect();
    links.sort();
    links.dedup();
    links
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

#[cfg(test)]
mod tests {
    //! The catalog parser and the shipped catalog (no server needed).

    use crate::catalog::{Catalog, CatalogError, LinkRef, Param, Report, REMOTE_PLACEHOLDER};
    use crate::shipped::SHIPPED;
    use crate::window::WindowKind;
    use std::time::Duration;

    const GOOD: &str = "-- name: r1
-- description: d
-- timeout: 1500ms
-- window: previous_hour
-- params: window_start, window_end
--
-- free text: with a colon after the header
SELECT count(*) FROM {{remote}}.orders WHERE created_at >= $1 AND created_at < $2;
";

    #[test]
    fn parses_header_and_quotes_the_schema() {
        let r = Report::parse("r1.sql", GOOD).unwrap();
        assert_eq!(r.name, "r1");
        assert_eq!(r.timeout, Duration::from_millis(1500));
        assert_eq!(r.window, WindowKind::Hour);
        assert_eq!(r.params, vec![Param::WindowStart, Param::WindowEnd]);
        assert!(r.uses_remote());
        let sql = r.sql(r#"x"; DROP TABLE users; --"#);
        assert!(sql.contains(r#"FROM "x""; DROP TABLE users; --".orders"#), "{sql}");
        assert!(!sql.contains(REMOTE_PLACEHOLDER) && !sql.ends_with(';'));
    }

    fn error_of(text: &str) -> String {
        match Report::parse("bad.sql", text) {
            Err(CatalogError::Invalid { file, reason }) => {
                assert_eq!(file, "bad.sql");
                reason
            }
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn refuses_what_it_cannot_run_safely() {
        let with = |from: &str, to: &str| GOOD.replace(from, to);
        assert!(error_of(&with("{{remote}}.orders", "{{schema}}.orders")).contains("unknown placeholder"));
        assert!(
            error_of(&with("{{remote}}.orders", "{{remote}}.orders, {{ remote }}.x")).contains("unknown placeholder")
        );
        for bad in [
            "{{remote:}}",
            "{{remote:Payments}}",
            "{{remote:1x}}",
            "{{remote: payments}}",
            "{{remote:pay-ments}}",
            "{{remote:payments",
            "{{remote:\"x\"; DROP TABLE users; --}}",
            "{{remote:payments}}}}",
            "}}{{remote}}",
            "{{{{remote}}}}",
        ] {
            let e = error_of(&with("{{remote}}.orders", &format!("{bad}.orders")));
            assert!(
                e.contains("unknown placeholder") && e.contains("{{remote:<link name>}}"),
                "{bad}: {e}"
            );
        }
        let long = format!("{{{{remote:{}}}}}.orders", "a".repeat(64));
        assert!(error_of(&with("{{remote}}.orders", &long)).contains("unknown placeholder"));
        assert!(error_of(&with("AND created_at < $2", "AND created_at < $3")).contains("$3"));
        assert!(error_of(&with("-- params: window_start, window_end", "-- params: window_start")).contains("$2"));
        assert!(error_of(&with("-- params: window_start, window_end", "-- params: start")).contains("start"));
        assert!(error_of(&with("1500ms", "1h")).contains("timeout"));
        assert!(error_of(&with("1500ms", "0s")).contains("between"));
        assert!(error_of(&with("1500ms", "16min")).contains("between"));
        assert!(error_of(&with("previous_hour", "previous_month")).contains("previous_day"));
        assert!(error_of(&with("-- name: r1", "-- name: R 1")).contains("a-z"));
        assert!(error_of(&with("-- description: d\n", "")).contains("description"));
        assert!(error_of(&with("-- window:", "-- windw:")).contains("unknown header key"));
        assert!(
            error_of("-- name: x\n-- description: d\n-- timeout: 1s\n-- window: previous_day\n-- params:\n")
                .contains("no SQL")
        );
    }

    #[test]
    fn named_links_get_their_own_schema_and_old_reports_are_unchanged() {
        let text = GOOD.replace(
        "FROM {{remote}}.orders",
        "FROM {{remote}}.orders o JOIN {{remote:payments}}.payments p USING (user_id) JOIN {{remote:crm_2}}.c USING (user_id) JOIN {{remote:payments}}.refunds USING (user_id)",
    );
        let r = Report::parse("r1.sql", &text).unwrap();
        assert_eq!(
            r.links(),
            [
                LinkRef::Default,
                LinkRef::Named("crm_2".into()),
                LinkRef::Named("payments".into())
            ]
        );
        let sql = r
            .sql_for(|l| match l {
                LinkRef::Default => Some("orders_remote"),
                LinkRef::Named(n) if n == "payments" => Some(r#"pay"; DROP TABLE users; --"#),
                LinkRef::Named(_) => Some("crm"),
            })
            .unwrap();
        assert!(
        sql.contains(r#"FROM "orders_remote".orders o JOIN "pay""; DROP TABLE users; --".payments p USING (user_id) JOIN "crm".c"#)
            && sql.contains(r#"JOIN "pay""; DROP TABLE users; --".refunds"#),
        "{sql}"
    );
        // The first link (in the text) that the caller does not know is the error.
        assert_eq!(
            r.sql_for(|l| (l == &LinkRef::Default).then_some("o")),
            Err(LinkRef::Named("payments".into()))
        );
        // One schema for every link: the co-located copies.
        assert_eq!(r.sql("public").matches("\"public\".").count(), 4);
        assert_eq!(LinkRef::Named("payments".into()).placeholder(), "{{remote:payments}}");
        // A report of the function's link alone renders as before: every {{remote}} replaced, nothing else touched.
        let old = Report::parse("r1.sql", GOOD).unwrap();
        assert_eq!(old.links(), [LinkRef::Default]);
        let body = GOOD[GOOD.find("--\n-- free text").unwrap()..]
            .trim()
            .trim_end_matches(';');
        assert_eq!(old.sql("o"), body.replace(REMOTE_PLACEHOLDER, "\"o\""));
        assert_eq!(old.sql_for(|_| Some("o")).unwrap(), old.sql("o"));
        // A report of cluster A alone reads through no link.
        let local = Report::parse("r1.sql", &GOOD.replace("{{remote}}.orders", "public.users")).unwrap();
        assert!(!local.uses_remote() && local.links().is_empty());
    }

    #[test]
    fn catalog_refuses_duplicates_and_misnamed_files() {
        let e = Catalog::from_files(&[("other.sql", GOOD)]).unwrap_err();
        assert!(e.to_string().contains("r1.sql"), "{e}");
        let r = Report::parse("r1.sql", GOOD).unwrap();
        let e = Catalog::from_files(&[("r1.sql", GOOD)])
            .unwrap()
            .with(r, "test")
            .unwrap_err();
        assert!(matches!(e, CatalogError::Duplicate { .. }));
    }

    #[test]
    fn unknown_names_list_the_known_ones() {
        let c = Catalog::shipped().unwrap();
        let e = c
            .select(Some(&["nope".to_string(), "revenue_by_country_segment".into()]))
            .unwrap_err();
        let text = e.to_string();
        assert!(text.starts_with("unknown report nope: known reports are "), "{text}");
        for name in c.names() {
            assert!(text.contains(&name));
        }
        assert_eq!(c.select(None).unwrap().len(), c.reports().len());
        let one = c.select(Some(&["top_customers_by_spend".to_string()])).unwrap();
        assert_eq!(one.len(), 1);
    }

    #[test]
    fn shipped_catalog_is_the_reports_directory() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../reports");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .filter(|n| n.ends_with(".sql"))
            .collect();
        on_disk.sort();
        let listed: Vec<String> = SHIPPED.iter().map(|(f, _)| f.to_string()).collect();
        assert_eq!(
            listed, on_disk,
            "shared/report/src/shipped.rs must list every file in reports/"
        );
        let c = Catalog::shipped().unwrap();
        assert!(c.reports().len() >= 4);
        assert!(
            c.reports().iter().any(|r| r.links().len() > 1),
            "a shipped report joins more than one link"
        );
        for r in c.reports() {
            assert!(r.uses_remote(), "{} does not read through the link", r.name);
            assert!(
                r.links().contains(&LinkRef::Default),
                "{}: every shipped report reads the function's own link ({{{{remote}}}})",
                r.name
            );
            assert_eq!(r.params, vec![Param::WindowStart, Param::WindowEnd], "{}", r.name);
            // Windows are bound parameters: a STABLE now() is never shipped by postgres_fdw.
            let sql = r.sql("s").to_lowercase();
            for f in [
                "now()",
                "current_timestamp",
                "current_date",
                "localtimestamp",
                "clock_timestamp",
            ] {
                assert!(!sql.contains(f), "{} uses {f}", r.name);
            }
        }
    }
}
