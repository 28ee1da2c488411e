//! The three ways of reading B's tables from A that the bench compares:
//! co-located (both tables in A's `colocated` database: the floor), a link
//! made the way public how-to guides make it (plain SQL: default server
//! options, the master user in the mapping, no ANALYZE), and fdw-bridge's link
//! (made by the real fdw-bootstrap handler, as the tests make it).

use fdw_bridge::pg::{ident, literal};
use fdw_bridge_testkit::{Stack, TestLink};
use serde_json::json;
use tokio_postgres::Client;

pub const WAYS: [&str; 3] = ["co-located", "how-to", "fdw-bridge"];

pub struct Way {
    pub name: &'static str,
    pub client: Client,
    /// Where B's tables are, seen from this session.
    pub schema: String,
}

/// The two links to B through one port (B's own, or a delaying proxy's).
pub struct Links {
    pub howto_server: String,
    pub howto_schema: String,
    pub bridge: TestLink,
}

/// Makes both links to B at `b_port`; `tag` keeps names apart (e.g. "direct", "delayed").
pub async fn make_links(stack: &Stack, tag: &str, b_port: u16) -> Links {
    let howto_server = format!("howto_{tag}");
    let howto_schema = format!("howto_{tag}_remote");
    let admin = admin_session(stack).await;
    // The mapping carries the master password: keep it out of A's statement log
    // (its own statement first: a batch is logged whole before it runs).
    admin
        .batch_execute("SET log_statement = 'none'")
        .await
        .expect("SET log_statement");
    admin
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE;
             DROP SERVER IF EXISTS {server} CASCADE;
             CREATE SERVER {server} FOREIGN DATA WRAPPER postgres_fdw
               OPTIONS (host '127.0.0.1', port {port}, dbname 'orders');
             CREATE USER MAPPING FOR CURRENT_USER SERVER {server}
               OPTIONS (user 'orders_admin', password {password});
             CREATE SCHEMA {schema};
             IMPORT FOREIGN SCHEMA public LIMIT TO (orders, order_items, order_lines, user_order_totals)
               FROM SERVER {server} INTO {schema};",
            schema = ident(&howto_schema),
            server = ident(&howto_server),
            port = literal(&b_port.to_string()),
            password = literal(stack.var("ORDERS_ADMIN_PASSWORD")),
        ))
        .await
        .unwrap_or_else(|e| panic!("making the how-to link ({tag}): {e}"));
    let bridge = bridge_link(stack, tag, b_port).await;
    Links {
        howto_server,
        howto_schema,
        bridge,
    }
}

/// fdw-bridge's link through the real handler, its remote port set to `b_port`.
async fn bridge_link(stack: &Stack, tag: &str, b_port: u16) -> TestLink {
    stack
        .create_link_with(&format!("bench_{tag}"), |properties| {
            properties["RemoteCluster"]["Port"] = json!(b_port.to_string());
            // The throughput at 100 sessions holds 100 connections on B as the FDW role; the
            // default limit is a third of B's 197 ordinary slots (docs/sizing.md).
            properties["FdwConnectionLimit"] = json!(150);
        })
        .await
}

pub async fn drop_links(stack: &Stack, links: &Links) {
    admin_session(stack)
        .await
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {} CASCADE; DROP SERVER IF EXISTS {} CASCADE;",
            ident(&links.howto_schema),
            ident(&links.howto_server)
        ))
        .await
        .expect("dropping the how-to link");
    stack.delete_link(&links.bridge).await;
}

async fn admin_session(stack: &Stack) -> Client {
    stack
        .clusters
        .login('a', "users", "users_admin", stack.var("USERS_ADMIN_PASSWORD"))
        .await
}

/// One session per way, in [`WAYS`] order (the how-to link's only when `howto`), in UTC
/// with a generous timeout.
pub async fn sessions(stack: &Stack, links: &Links, howto: bool) -> Vec<Way> {
    let colocated = stack
        .clusters
        .login('a', "colocated", "users_admin", stack.var("USERS_ADMIN_PASSWORD"))
        .await;
    let howto_session = admin_session(stack).await;
    let bridge = stack.clusters.report_reader().await;
    for c in [&colocated, &howto_session, &bridge] {
        c.batch_execute("SET TimeZone = 'UTC'; SET statement_timeout = '600s'")
            .await
            .expect("session settings");
    }
    let all = vec![
        Way {
            name: WAYS[0],
            client: colocated,
            schema: "public".into(),
        },
        Way {
            name: WAYS[1],
            client: howto_session,
            schema: links.howto_schema.clone(),
        },
        Way {
            name: WAYS[2],
            client: bridge,
            schema: links.bridge.local_schema.clone(),
        },
    ];
    all.into_iter().filter(|w| howto || w.name != WAYS[1]).collect()
}
