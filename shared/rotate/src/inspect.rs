//! What setSecret and testSecret read from the catalogs of both clusters.

use super::plan::{MappedRole, PendingRole, RemoteFacts};
use fdw_bridge_pg::role::{RolePair, ORDINARY_SLOTS_SQL};
use fdw_bridge_pg::PgError;
use fdw_bridge_pg::{Endpoint, DEFAULT_PORT};
use tokio_postgres::Client;

/// Cluster B: the pending role (if it exists), and the base role's comment.
pub async fn remote_facts(client: &Client, pair: &RolePair, pending_user: &str) -> Result<RemoteFacts, PgError> {
    let ctx = "reading the FDW role and its clone on cluster B";
    let row = client
        .query_one(&format!("SELECT current_database()::text, {ORDINARY_SLOTS_SQL}"), &[])
        .await
        .map_err(|e| PgError::new(ctx, &e))?;
    let database: String = row.get(0);
    let ordinary_slots = u32::try_from(row.get::<_, i32>(1)).unwrap_or(0);
    let pending = client
        .query_opt(
            "SELECT r.rolcanlogin,
                    pg_has_role(r.oid, b.oid, 'MEMBER') AND r.oid <> b.oid,
                    EXISTS (SELECT 1 FROM pg_database d, aclexplode(d.datacl) a
                             WHERE d.datname = current_database() AND a.grantee = r.oid
                               AND a.privilege_type = 'CONNECT'),
                    r.rolsuper OR r.rolcreaterole OR r.rolcreatedb OR r.rolreplication OR r.rolbypassrls
               FROM pg_roles r LEFT JOIN pg_roles b ON b.rolname = $2
              WHERE r.rolname = $1",
            &[&pending_user, &pair.base],
        )
        .await
        .map_err(|e| PgError::new(ctx, &e))?
        .map(|row| PendingRole {
            can_login: row.get(0),
            member_of_base: row.get::<_, Option<bool>>(1).unwrap_or(false),
            has_connect: row.get(2),
            is_superuser_or_admin: row.get(3),
        });
    let base = client
        .query_opt(
            "SELECT shobj_description(oid, 'pg_authid'), rolconnlimit FROM pg_roles WHERE rolname = $1",
            &[&pair.base],
        )
        .await
        .map_err(|e| PgError::new(ctx, &e))?;
    Ok(RemoteFacts {
        database,
        pending,
        base_exists: base.is_some(),
        base_comment: base.as_ref().and_then(|row| row.get(0)),
        base_connection_limit: base.as_ref().and_then(|row| u32::try_from(row.get::<_, i32>(1)).ok()),
        ordinary_slots,
    })
}

/// Cluster A: where `server` reads cluster B (its host and port options; port 5432
/// when it names none), or None when it names no host.
pub async fn server_endpoint(client: &Client, server: &str) -> Result<Option<Endpoint>, PgError> {
    let row = client
        .query_opt(
            "SELECT max(option_value) FILTER (WHERE option_name = 'host'),
                    max(option_value) FILTER (WHERE option_name = 'port')
               FROM pg_foreign_server s, pg_options_to_table(s.srvoptions)
              WHERE s.srvname = $1",
            &[&server],
        )
        .await
        .map_err(|e| PgError::new("reading the foreign server's host and port on cluster A", &e))?;
    Ok(row.and_then(|r| {
        let host: Option<String> = r.get(0);
        let port: Option<String> = r.get(1);
        Some(Endpoint {
            host: host?,
            port: port.and_then(|p| p.parse().ok()).unwrap_or(DEFAULT_PORT),
        })
    }))
}

/// Cluster A: the roles that have a user mapping for `server`; None when the server does not exist.
pub async fn mapped_roles(client: &Client, server: &str) -> Result<Option<Vec<MappedRole>>, PgError> {
    let ctx = "reading the user mappings on cluster A";
    let exists = client
        .query_opt("SELECT 1 FROM pg_foreign_server WHERE srvname = $1", &[&server])
        .await
        .map_err(|e| PgError::new(ctx, &e))?
        .is_some();
    if !exists {
        return Ok(None);
    }
    let rows = client
        .query(
            "SELECT umuser = 0, usename::text FROM pg_user_mappings WHERE srvname = $1 ORDER BY 2",
            &[&server],
        )
        .await
        .map_err(|e| PgError::new(ctx, &e))?;
    Ok(Some(
        rows.iter()
            .map(|row| {
                if row.get::<_, bool>(0) {
                    MappedRole::Public
                } else {
                    MappedRole::Role(row.get(1))
                }
            })
            .collect(),
    ))
}

/// Cluster A: the `user` option of the current user's own mapping for `server`
/// (the server's owner may read it), or None when it has none.
pub async fn own_mapping_user(client: &Client, server: &str) -> Result<Option<String>, PgError> {
    let row = client
        .query_opt(
            "SELECT (SELECT substr(o, 6) FROM unnest(umoptions) o WHERE o LIKE 'user=%')
               FROM pg_user_mappings WHERE srvname = $1 AND usename = current_user",
            &[&server],
        )
        .await
        .map_err(|e| PgError::new("reading the local admin's user mapping on cluster A", &e))?;
    Ok(row.and_then(|r| r.get(0)))
}

/// Cluster A: one foreign table of `server`, as (schema, table), to probe through.
pub async fn probe_table(client: &Client, server: &str) -> Result<Option<(String, String)>, PgError> {
    let row = client
        .query_opt(
            "SELECT n.nspname::text, c.relname::text
               FROM pg_foreign_table ft
               JOIN pg_foreign_server s ON s.oid = ft.ftserver
               JOIN pg_class c ON c.oid = ft.ftrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE s.srvname = $1
              ORDER BY 1, 2 LIMIT 1",
            &[&server],
        )
        .await
        .map_err(|e| PgError::new("looking for a foreign table of the server on cluster A", &e))?;
    Ok(row.map(|r| (r.get(0), r.get(1))))
}
