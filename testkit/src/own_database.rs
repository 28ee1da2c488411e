//! A database of a test's own on cluster A, dropped when the test is done.

use crate::names::unique;
use crate::stack::Stack;
use tokio_postgres::Client;

/// A database on A without postgres_fdw, owned by `owner` (made and dropped by the superuser).
pub struct OwnDatabase {
    pub name: String,
}

impl OwnDatabase {
    pub async fn new(stack: &Stack, tag: &str, owner: &str) -> Self {
        let name = unique(tag);
        stack
            .clusters
            .superuser('a', "postgres")
            .await
            .batch_execute(&format!(
                "CREATE DATABASE {} OWNER {}",
                fdw_bridge::pg::ident(&name),
                fdw_bridge::pg::ident(owner)
            ))
            .await
            .unwrap();
        Self { name }
    }

    pub async fn superuser(&self, stack: &Stack) -> Client {
        stack.clusters.superuser('a', &self.name).await
    }

    pub async fn drop(self, stack: &Stack) {
        stack
            .clusters
            .superuser('a', "postgres")
            .await
            .batch_execute(&format!(
                "DROP DATABASE {} WITH (FORCE)",
                fdw_bridge::pg::ident(&self.name)
            ))
            .await
            .unwrap();
    }
}
