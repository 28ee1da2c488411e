//! What a foreign server's user mappings log in to the remote cluster with, read
//! on the local cluster. fdw-rotate decides the idle user from it; the link's
//! refresh keeps these credentials rather than the secret's.

use super::PgError;
use tokio_postgres::Client;

/// What cluster A's user mappings of a server log in to cluster B with, as the
/// local admin can read it. Every mapping is written in one transaction with the
/// same credentials, so one mapping stands for all.
#[derive(Clone, PartialEq, Eq)]
pub struct MappingLogin {
    pub user: String,
    /// None when the mapping has no password option.
    pub password: Option<String>,
}

impl std::fmt::Debug for MappingLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MappingLogin")
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "********"))
            .finish()
    }
}

/// Cluster A: the `user` and `password` options of the current user's own
/// mapping for `server`, else of the PUBLIC mapping (the server's owner may
/// read both); None when neither exists or shows its options.
pub async fn mapping_login(client: &Client, server: &str) -> Result<Option<MappingLogin>, PgError> {
    let row = client
        .query_opt(
            "SELECT (SELECT substr(o, 6) FROM unnest(umoptions) o WHERE o LIKE 'user=%'),
                    (SELECT substr(o, 10) FROM unnest(umoptions) o WHERE o LIKE 'password=%')
               FROM pg_user_mappings
              WHERE srvname = $1 AND (usename = current_user OR umuser = 0) AND umoptions IS NOT NULL
              ORDER BY umuser = 0
              LIMIT 1",
            &[&server],
        )
        .await
        .map_err(|e| PgError::new("reading what cluster A's user mappings log in as", &e))?;
    Ok(row.and_then(|r| {
        r.get::<_, Option<String>>(0).map(|user| MappingLogin {
            user,
            password: r.get(1),
        })
    }))
}
