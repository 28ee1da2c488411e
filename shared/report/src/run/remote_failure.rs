//! Which remote cluster a report's failure through postgres_fdw concerns: the
//! foreign servers behind the report's links, and the words that name them.

use crate::catalog::{LinkRef, Report};
use crate::links::ReportLinks;
use crate::over_budget::refused_server;
use tokio_postgres::Client;

/// A foreign server behind one of a report's links.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct RemoteServer {
    /// The link it serves ([`super::links::ReportLink::describe`]); the function's own link is cluster B.
    pub(super) link: String,
    pub(super) default_link: bool,
    pub(super) server: String,
    /// `host:port/dbname` from its options.
    pub(super) at: String,
}

impl RemoteServer {
    fn describe(&self, with_link: bool) -> String {
        let server = format!("foreign server \"{}\" at {}", self.server, self.at);
        if with_link {
            format!("{}: {server}", self.link)
        } else {
            server
        }
    }
}

/// Which remote cluster a failure through postgres_fdw concerns, for its message.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Remote {
    /// "cluster B", "the remote cluster of link payments (...)", or "the remote clusters".
    pub(super) cluster: String,
    /// The foreign server(s): the one the error names, else every one the report reads through.
    pub(super) servers: String,
    /// What to check.
    pub(super) check: String,
}

impl Remote {
    /// A report through the function's link alone keeps saying cluster B; one
    /// through several names the link whose server the error names, or all of them.
    pub(super) fn of_failure(error: &str, servers: &[RemoteServer]) -> Option<Self> {
        if servers.is_empty() {
            return None;
        }
        if servers.iter().all(|s| s.default_link) {
            let text = servers.iter().map(|s| s.describe(false)).collect::<Vec<_>>().join(", ");
            return Some(Self {
                cluster: "cluster B".into(),
                servers: text,
                check: "cluster B".into(),
            });
        }
        let named = refused_server(error).and_then(|name| servers.iter().find(|s| s.server == name));
        Some(match named {
            Some(s) => Self {
                cluster: format!("the remote cluster of {}", s.link),
                servers: s.describe(false),
                check: "that cluster".into(),
            },
            None => Self {
                cluster: "the remote clusters".into(),
                servers: servers.iter().map(|s| s.describe(true)).collect::<Vec<_>>().join("; "),
                check: "each of those clusters".into(),
            },
        })
    }
}

/// The foreign servers behind the foreign tables of the report's links' schemas (none when unknown).
pub(super) async fn foreign_servers(client: &Client, links: &ReportLinks, report: &Report) -> Vec<RemoteServer> {
    let Ok(report_links) = links.of(report) else {
        return Vec::new();
    };
    let schemas: Vec<String> = report_links.iter().map(|l| l.schema.clone()).collect();
    let Ok(rows) = client
        .query(
            "SELECT DISTINCT n.nspname::text, s.srvname::text,
                    coalesce((SELECT option_value FROM pg_options_to_table(s.srvoptions) WHERE option_name = 'host'), '?'),
                    coalesce((SELECT option_value FROM pg_options_to_table(s.srvoptions) WHERE option_name = 'port'), '5432'),
                    coalesce((SELECT option_value FROM pg_options_to_table(s.srvoptions) WHERE option_name = 'dbname'), '?')
               FROM pg_foreign_table ft
               JOIN pg_class c ON c.oid = ft.ftrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace
               JOIN pg_foreign_server s ON s.oid = ft.ftserver
              WHERE n.nspname::text = ANY($1::text[])
              ORDER BY 1, 2",
            &[&schemas],
        )
        .await
    else {
        return Vec::new();
    };
    rows.iter()
        .filter_map(|r| {
            let schema: String = r.get(0);
            let link = report_links.iter().find(|l| l.schema == schema)?;
            Some(RemoteServer {
                link: link.describe(),
                default_link: link.reference == LinkRef::Default,
                server: r.get(1),
                at: format!(
                    "{}:{}/{}",
                    r.get::<_, String>(2),
                    r.get::<_, String>(3),
                    r.get::<_, String>(4)
                ),
            })
        })
        .collect()
}
