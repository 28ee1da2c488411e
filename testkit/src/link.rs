//! Links made and removed through fdw-bootstrap's real handler, for suites
//! that need foreign tables (reports, rotation), and the check that a removed
//! (or never made) link left nothing behind.

use crate::names::unique;
use crate::stack::Stack;
use serde_json::Value;
use std::time::Duration;

/// A link made by [`Stack::create_link`]. Each has its own server, local schema and FDW role.
pub struct TestLink {
    pub server: String,
    pub local_schema: String,
    pub fdw_user: String,
    pub fdw_password: String,
    pub fdw_secret_arn: String,
    pub physical_id: String,
    pub properties: Value,
}

impl Stack {
    /// Creates a link importing B's `public` schema into a local schema of its own.
    pub async fn create_link(&self, tag: &str) -> TestLink {
        self.create_link_with(tag, |_| {}).await
    }

    /// [`Stack::create_link`] with the properties changed by `adjust` first.
    pub async fn create_link_with(&self, tag: &str, adjust: impl FnOnce(&mut Value)) -> TestLink {
        let bootstrap = self.bootstrap().await;
        let fdw_user = unique(&format!("fdw_{tag}"));
        let fdw_password = format!("{}-pw-{}", tag, std::process::id());
        let fdw_secret_arn = self.fdw_secret(&fdw_user, &fdw_password).await;
        let server = unique(&format!("{tag}_link"));
        let local_schema = unique(&format!("{tag}_remote"));
        let mut properties = self.properties(&server, &local_schema, &fdw_secret_arn);
        adjust(&mut properties);
        // Generous: the bench's links ANALYZE millions of remote rows.
        let created = self
            .invoke(
                &bootstrap,
                self.event("Create", &unique(&format!("{tag}-create")), None, &properties),
                Duration::from_secs(300),
            )
            .await;
        created.assert_success();
        TestLink {
            server,
            local_schema,
            fdw_user,
            fdw_password,
            fdw_secret_arn,
            physical_id: created.answer.physical_resource_id.clone(),
            properties,
        }
    }

    /// Points a foreign server on A at another port of 127.0.0.1 (a proxy in
    /// front of B, or B's own port to restore it). New FDW sessions use it;
    /// sessions already connected keep their connection.
    pub async fn point_server_at(&self, server: &str, port: u16) {
        let a = self.clusters.superuser('a', "users").await;
        let alter: String = a
            .query_one(
                "SELECT format('ALTER SERVER %I OPTIONS (SET port %L)', $1::text, $2::text)",
                &[&server, &port.to_string()],
            )
            .await
            .expect("format ALTER SERVER")
            .get(0);
        a.batch_execute(&alter).await.expect("ALTER SERVER ... port");
    }

    /// B's orders counted through the foreign table in `local_schema`, as report_reader.
    pub async fn orders_through(&self, local_schema: &str) -> Result<i64, tokio_postgres::Error> {
        let sql = format!("SELECT count(*) FROM {}.orders", fdw_bridge::pg::ident(local_schema));
        self.clusters
            .report_reader()
            .await
            .query_one(&sql, &[])
            .await
            .map(|r| r.get(0))
    }

    /// Deletes a link made by [`Stack::create_link`] and checks nothing is left.
    pub async fn delete_link(&self, link: &TestLink) {
        let bootstrap = self.bootstrap().await;
        self.invoke(
            &bootstrap,
            self.event(
                "Delete",
                &unique("link-delete"),
                Some(&link.physical_id),
                &link.properties,
            ),
            Duration::from_secs(120),
        )
        .await
        .assert_success();
        assert_link_gone(self, &link.server, &link.local_schema, &link.fdw_user).await;
    }
}

/// Nothing of the link is left: no server, mapping, foreign table or schema on
/// A, no FDW role (or clone) on B.
pub async fn assert_link_gone(stack: &Stack, server: &str, local_schema: &str, fdw_user: &str) {
    let a = stack.clusters.superuser('a', "users").await;
    let left: i64 = a
        .query_one(
            "SELECT (SELECT count(*) FROM pg_foreign_server WHERE srvname::text = $1::text)
                  + (SELECT count(*) FROM pg_user_mappings WHERE srvname::text = $1::text)
                  + (SELECT count(*) FROM pg_namespace WHERE nspname::text = $2::text)
                  + (SELECT count(*) FROM pg_foreign_table ft JOIN pg_class c ON c.oid = ft.ftrelid
                       JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname::text = $2::text)",
            &[&server, &local_schema],
        )
        .await
        .expect("catalog query on A")
        .get(0);
    assert_eq!(left, 0, "server {server:?} or schema {local_schema:?} left behind on A");
    let b = stack.clusters.superuser('b', "orders").await;
    let roles: i64 = b
        .query_one(
            "SELECT count(*) FROM pg_roles WHERE rolname::text IN ($1::text, $1::text || '_clone')",
            &[&fdw_user],
        )
        .await
        .expect("catalog query on B")
        .get(0);
    assert_eq!(roles, 0, "FDW role {fdw_user:?} left behind on B");
}
