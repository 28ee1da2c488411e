//! The PostgreSQL clusters of the stack (A, B, the opt-in C and B's streaming
//! replica): where they listen, sessions on them (superuser and login roles).
//! Stopping and restarting them is in `outage`.

use crate::env::Env;
use crate::outage::Turns;
use fdw_bridge::pg::Connector;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres::{Client, NoTls};

/// The stack's clusters: `stack.clusters`.
pub struct Clusters {
    pub(crate) env: Arc<Env>,
    /// Ordinary tests share the stack; a test that stops a cluster needs it alone.
    pub(crate) turns: Turns,
}

impl Clusters {
    pub fn port(&self, cluster: char) -> u16 {
        self.env
            .var(&format!("PG_{}_PORT", cluster.to_ascii_uppercase()))
            .parse()
            .expect("port")
    }

    /// A superuser session over the cluster's Unix socket, for setting up and inspecting.
    pub async fn superuser(&self, cluster: char, dbname: &str) -> Client {
        let up = cluster.to_ascii_uppercase();
        let mut config = tokio_postgres::Config::new();
        config
            .host_path(self.env.var(&format!("PG_{up}_SOCKET_DIR")))
            .port(self.port(cluster))
            .user("postgres")
            .dbname(dbname);
        let (client, connection) = config
            .connect(NoTls)
            .await
            .unwrap_or_else(|e| panic!("cluster {cluster} is not answering on its socket: {e}: run `make stack-up`"));
        tokio::spawn(connection);
        client
    }

    /// The PostgreSQL major a cluster runs, as the server says (the stack runs
    /// `PG_MAJOR`, or `PG_MAJOR_A` / `PG_MAJOR_B` for one cluster).
    pub async fn server_major(&self, cluster: char) -> u32 {
        let db = if cluster == 'a' { "users" } else { "orders" };
        let num: String = self
            .superuser(cluster, db)
            .await
            .query_one("SHOW server_version_num", &[])
            .await
            .expect("SHOW server_version_num")
            .get(0);
        num.parse::<u32>().expect("server_version_num is a number") / 10000
    }

    /// A role's `CONNECTION LIMIT` on cluster B (`rolconnlimit`; -1 for none).
    pub async fn connection_limit_on_b(&self, role: &str) -> i32 {
        self.superuser('b', "orders")
            .await
            .query_one("SELECT rolconnlimit FROM pg_roles WHERE rolname = $1", &[&role])
            .await
            .expect("rolconnlimit")
            .get(0)
    }

    /// A session over TLS (verify-full against the stack's CA) as a login role.
    pub async fn login(&self, cluster: char, dbname: &str, user: &str, password: &str) -> Client {
        self.connector()
            .connect(&fdw_bridge::pg::ConnectTarget {
                label: format!("cluster {cluster}"),
                endpoint: fdw_bridge::aws::Endpoint {
                    host: "127.0.0.1".into(),
                    port: self.port(cluster),
                },
                dbname: dbname.into(),
                user: user.into(),
                password: password.into(),
                credential_source: "test".into(),
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// A session on cluster A's `users` as `report_reader`, the mapped role the
    /// links give SELECT on their foreign tables.
    pub async fn report_reader(&self) -> Client {
        self.login('a', "users", "report_reader", self.env.var("REPORT_READER_PASSWORD"))
            .await
    }

    /// A connector verifying against the stack's CA, with the functions' default 5 s bound.
    pub fn connector(&self) -> Connector {
        connector_with_ca(self.env.var("FDW_CA_BUNDLE"))
    }
}

/// A connector verifying against `ca_bundle`, with the functions' default 5 s bound.
pub(crate) fn connector_with_ca(ca_bundle: &str) -> Connector {
    Connector::with_ca_bundle(Path::new(ca_bundle), Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("{e}: run `make stack-up`"))
}
