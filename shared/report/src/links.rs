//! The links a report reads through, as fdw-report's settings name them: the
//! function's link (`{{remote}}`, FDW_REPORT_SCHEMA and FDW_REPORT_REMOTE_SLOTS)
//! and the named ones (`{{remote:<name>}}`, FDW_REPORT_LINKS), each with its
//! local schema on cluster A and its own report budget on its own remote
//! cluster. Pure: which links a report needs, and its SQL with their schemas.

use super::catalog::{LinkRef, Report};
use super::settings::ReportSettings;
use fdw_bridge_pg::sql::ident;

/// One link reports may read through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportLink {
    pub reference: LinkRef,
    /// Its local schema on cluster A (the foreign tables).
    pub schema: String,
    /// Report sessions on its remote cluster at once, across every invocation.
    pub remote_slots: u32,
}

impl ReportLink {
    /// The link and its schema, for messages: `link payments (schema "payments_remote")`.
    pub fn describe(&self) -> String {
        match &self.reference {
            LinkRef::Default => format!("the link of schema {} (FDW_REPORT_SCHEMA)", ident(&self.schema)),
            LinkRef::Named(name) => format!("link {name} (schema {}, FDW_REPORT_LINKS)", ident(&self.schema)),
        }
    }

    /// The setting that sizes its budget.
    pub fn slots_setting(&self) -> String {
        match &self.reference {
            LinkRef::Default => "FDW_REPORT_REMOTE_SLOTS".to_string(),
            LinkRef::Named(name) => format!("FDW_REPORT_LINKS {name}.remote_slots"),
        }
    }
}

/// A report names a link the function was not given.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error(
    "report {report} reads through {} that this function does not know: it knows {}; give the link's local schema on cluster A in FDW_REPORT_LINKS (docs/reports.md \"Reports across more than one link\")",
    .missing.iter().map(|l| format!("{} ({})", l.placeholder(), l)).collect::<Vec<_>>().join(", "),
    .known.join(", ")
)]
pub struct MissingLinks {
    pub report: String,
    pub missing: Vec<LinkRef>,
    /// The placeholders the function knows.
    pub known: Vec<String>,
}

/// Every link the function knows: its own link first, then the named ones by name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportLinks {
    links: Vec<ReportLink>,
}

impl ReportLinks {
    pub fn from_settings(settings: &ReportSettings) -> Self {
        let mut links = vec![ReportLink {
            reference: LinkRef::Default,
            schema: settings.schema.clone(),
            remote_slots: settings.remote_slots,
        }];
        links.extend(settings.links.iter().map(|(name, link)| ReportLink {
            reference: LinkRef::Named(name.clone()),
            schema: link.schema.clone(),
            remote_slots: link.remote_slots,
        }));
        Self { links }
    }

    pub fn all(&self) -> &[ReportLink] {
        &self.links
    }

    pub fn get(&self, reference: &LinkRef) -> Option<&ReportLink> {
        self.links.iter().find(|l| &l.reference == reference)
    }

    /// The links `report` reads through, ordered by schema (the one order in
    /// which every invocation takes their report slots), or the ones missing.
    pub fn of(&self, report: &Report) -> Result<Vec<&ReportLink>, MissingLinks> {
        let missing: Vec<LinkRef> = report
            .links()
            .iter()
            .filter(|r| self.get(r).is_none())
            .cloned()
            .collect();
        if !missing.is_empty() {
            return Err(MissingLinks {
                report: report.name.clone(),
                missing,
                known: self.links.iter().map(|l| l.reference.placeholder()).collect(),
            });
        }
        let mut links: Vec<&ReportLink> = report.links().iter().filter_map(|r| self.get(r)).collect();
        links.sort_by(|a, b| a.schema.cmp(&b.schema));
        Ok(links)
    }

    /// The report's SQL with each link's schema quoted in.
    pub fn sql(&self, report: &Report) -> Result<String, MissingLinks> {
        self.of(report)?;
        report
            .sql_for(|r| self.get(r).map(|l| l.schema.as_str()))
            .map_err(|missing| MissingLinks {
                report: report.name.clone(),
                missing: vec![missing],
                known: self.links.iter().map(|l| l.reference.placeholder()).collect(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::NamedLink;

    fn report(sql: &str) -> Report {
        Report::parse(
            "r.sql",
            &format!("-- name: r\n-- description: d\n-- timeout: 1s\n-- window: previous_day\n-- params:\n{sql}\n"),
        )
        .unwrap()
    }

    fn settings(named: &[(&str, &str, u32)]) -> ReportSettings {
        let mut s = ReportSettings::from_lookup(|k| match k {
            "FDW_CA_BUNDLE" => Some("/ca".into()),
            "FDW_REPORT_READER_SECRET_ARN" => Some("arn:r".into()),
            "FDW_REPORT_WRITER_SECRET_ARN" => Some("arn:w".into()),
            _ => None,
        })
        .unwrap();
        for (name, schema, slots) in named {
            s.links.insert(
                name.to_string(),
                NamedLink {
                    schema: schema.to_string(),
                    remote_slots: *slots,
                },
            );
        }
        s
    }

    #[test]
    fn each_placeholder_gets_its_links_schema_quoted() {
        let links = ReportLinks::from_settings(&settings(&[("payments", "pay\"ments", 3), ("crm", "a_crm", 2)]));
        let r = report("SELECT * FROM {{remote}}.orders o JOIN {{remote:payments}}.payments p USING (user_id) JOIN {{remote}}.x USING (id)");
        assert_eq!(
            links.sql(&r).unwrap(),
            r#"SELECT * FROM "orders_remote".orders o JOIN "pay""ments".payments p USING (user_id) JOIN "orders_remote".x USING (id)"#
        );
        // Slots are taken in schema order, whatever the report's order or the links' names.
        let of: Vec<&str> = links.of(&r).unwrap().iter().map(|l| l.schema.as_str()).collect();
        assert_eq!(of, ["orders_remote", "pay\"ments"]);
        let both = report("SELECT 1 FROM {{remote:payments}}.p, {{remote:crm}}.c");
        let of: Vec<&ReportLink> = links.of(&both).unwrap();
        assert_eq!(
            of.iter().map(|l| l.schema.as_str()).collect::<Vec<_>>(),
            ["a_crm", "pay\"ments"]
        );
        assert_eq!(of[1].remote_slots, 3);
        assert_eq!(of[1].slots_setting(), "FDW_REPORT_LINKS payments.remote_slots");
        assert_eq!(
            of[1].describe(),
            r#"link payments (schema "pay""ments", FDW_REPORT_LINKS)"#
        );
        assert!(links.of(&report("SELECT 1")).unwrap().is_empty());
    }

    #[test]
    fn a_link_the_function_does_not_know_is_named_with_the_ones_it_knows() {
        let links = ReportLinks::from_settings(&settings(&[]));
        let r = report("SELECT 1 FROM {{remote}}.o, {{remote:payments}}.p, {{remote:crm}}.c");
        let e = links.of(&r).unwrap_err();
        assert_eq!(
            e.missing,
            [LinkRef::Named("crm".into()), LinkRef::Named("payments".into())]
        );
        let text = e.to_string();
        assert!(
            text.starts_with("report r reads through {{remote:crm}} (link crm), {{remote:payments}} (link payments) that this function does not know: it knows {{remote}}"),
            "{text}"
        );
        assert!(text.contains("FDW_REPORT_LINKS"), "{text}");
        assert_eq!(links.sql(&r).unwrap_err(), e);
    }
}
