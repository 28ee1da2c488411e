//! The remote cluster: the FDW role (and rotation's clone) with their grants,
//! and the tables of the schemas the link imports.

use super::types::read_remote_types;
use crate::spec::LinkSpec;
use crate::state::{Column, RemoteState, RoleGrants, RoleState};
use fdw_bridge_pg::role::{clone_role_name, ORDINARY_SLOTS_SQL};
use fdw_bridge_pg::PgError;
use std::collections::BTreeMap;
use tokio_postgres::Client;

/// Reads the remote cluster: the FDW role (and clone) with their grants, and the
/// tables of the schemas the link imports. `fdw_password_works` is filled in by
/// the caller, which alone can try a login.
pub async fn read_remote(client: &Client, spec: &LinkSpec) -> Result<RemoteState, PgError> {
    let row = client
        .query_one(&format!("SELECT current_database()::text, {ORDINARY_SLOTS_SQL}"), &[])
        .await
        .map_err(remote_error)?;
    let mut state = RemoteState {
        database: row.get(0),
        connection_budget: u32::try_from(row.get::<_, i32>(1)).unwrap_or(0),
        fdw_role: read_role(client, &spec.fdw_user).await?,
        clone_role: read_role(client, &clone_role_name(&spec.fdw_user)).await?,
        ..Default::default()
    };
    let schemas = spec.remote_schemas();
    state.schemas = read_remote_tables(client, &schemas).await?;
    state.ungrantable = read_ungrantable(client, &schemas).await?;
    state.row_counts = read_row_counts(client, &schemas).await?;
    (state.types, state.user_typed_columns) = read_remote_types(client, &schemas).await?;
    Ok(state)
}

fn remote_error(e: tokio_postgres::Error) -> PgError {
    PgError::new("reading the remote cluster's catalog", &e)
}

/// The schemas that exist among `schemas`, with their tables and views and each one's columns.
async fn read_remote_tables(
    client: &Client,
    schemas: &[String],
) -> Result<BTreeMap<String, BTreeMap<String, Vec<Column>>>, PgError> {
    let rows = client
        .query(
            "SELECT n.nspname::text, c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod)
               FROM pg_namespace n
               LEFT JOIN pg_class c ON c.relnamespace = n.oid
                    AND c.relkind IN ('r', 'v', 'm', 'f', 'p') AND NOT c.relispartition
               LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
              WHERE n.nspname = ANY($1)
              ORDER BY 1, 2, a.attnum",
            &[&schemas],
        )
        .await
        .map_err(remote_error)?;
    let mut tables_by_schema: BTreeMap<String, BTreeMap<String, Vec<Column>>> = BTreeMap::new();
    for row in rows {
        let schema: String = row.get(0);
        let tables = tables_by_schema.entry(schema).or_default();
        if let Some(table) = row.get::<_, Option<String>>(1) {
            let columns = tables.entry(table).or_default();
            if let (Some(name), Some(data_type)) = (row.get::<_, Option<String>>(2), row.get::<_, Option<String>>(3)) {
                columns.push(Column { name, data_type });
            }
        }
    }
    Ok(tables_by_schema)
}

/// Tables of `schemas` on which the remote admin may not grant SELECT, with their owner.
async fn read_ungrantable(client: &Client, schemas: &[String]) -> Result<BTreeMap<(String, String), String>, PgError> {
    Ok(client
        .query(
            "SELECT n.nspname::text, c.relname::text, pg_get_userbyid(c.relowner)::text
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'v', 'm', 'f', 'p') AND NOT c.relispartition
                AND NOT has_table_privilege(c.oid, 'SELECT WITH GRANT OPTION')",
            &[&schemas],
        )
        .await
        .map_err(remote_error)?
        .into_iter()
        .map(|r| ((r.get(0), r.get(1)), r.get(2)))
        .collect())
}

/// Rows of the tables and materialized views of `schemas` (a partitioned table: its partitions').
async fn read_row_counts(client: &Client, schemas: &[String]) -> Result<BTreeMap<(String, String), i64>, PgError> {
    // n_live_tup follows inserts and deletes as they commit; reltuples only
    // after VACUUM or ANALYZE on the remote cluster, so it is the fallback.
    Ok(client
        .query(
            "SELECT n.nspname::text, c.relname::text,
                    CASE WHEN c.relkind = 'p'
                         THEN (SELECT coalesce(sum(s.n_live_tup), 0) FROM pg_partition_tree(c.oid) t
                                 JOIN pg_stat_all_tables s ON s.relid = t.relid WHERE t.isleaf)
                         ELSE (SELECT coalesce(max(s.n_live_tup), 0) FROM pg_stat_all_tables s WHERE s.relid = c.oid)
                    END::bigint,
                    round(c.reltuples)::bigint
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'm', 'p') AND NOT c.relispartition",
            &[&schemas],
        )
        .await
        .map_err(remote_error)?
        .into_iter()
        .map(|r| {
            let (live, estimated): (i64, i64) = (r.get(2), r.get(3));
            let rows = if live > 0 { live } else { estimated.max(0) };
            ((r.get(0), r.get(1)), rows)
        })
        .collect())
}

/// The role named `role`, when it exists, with its login, connection limit, comment and grants.
pub(crate) async fn read_role(client: &Client, role: &str) -> Result<Option<RoleState>, PgError> {
    let ctx = "reading role grants on the remote cluster";
    let Some(row) = client
        .query_opt(
            "SELECT oid, rolcanlogin, shobj_description(oid, 'pg_authid'), rolconnlimit FROM pg_roles WHERE rolname = $1",
            &[&role],
        )
        .await
        .map_err(|e| PgError::new(ctx, &e))?
    else {
        return Ok(None);
    };
    let oid: u32 = row.get(0);
    let grants = read_role_grants(client, oid).await?;
    Ok(Some(RoleState {
        can_login: row.get(1),
        connection_limit: row.get(3),
        comment: row.get(2),
        grants,
    }))
}

/// What the role with `oid` is granted: CONNECT on databases, USAGE on schemas,
/// SELECT (and any other privilege) on tables.
async fn read_role_grants(client: &Client, oid: u32) -> Result<RoleGrants, PgError> {
    let ctx = "reading role grants on the remote cluster";
    let mut grants = RoleGrants::default();
    for r in client
        .query(
            "SELECT d.datname::text FROM pg_database d, aclexplode(d.datacl) a
              WHERE a.grantee = $1 AND a.privilege_type = 'CONNECT'",
            &[&oid],
        )
        .await
        .map_err(|e| PgError::new(ctx, &e))?
    {
        grants.databases.insert(r.get(0));
    }
    for r in client
        .query(
            "SELECT n.nspname::text FROM pg_namespace n, aclexplode(n.nspacl) a
              WHERE a.grantee = $1 AND a.privilege_type = 'USAGE'",
            &[&oid],
        )
        .await
        .map_err(|e| PgError::new(ctx, &e))?
    {
        grants.schemas.insert(r.get(0));
    }
    for r in client
        .query(
            "SELECT n.nspname::text, c.relname::text, a.privilege_type
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) a
              WHERE a.grantee = $1",
            &[&oid],
        )
        .await
        .map_err(|e| PgError::new(ctx, &e))?
    {
        let (schema, table, privilege): (String, String, String) = (r.get(0), r.get(1), r.get(2));
        if privilege == "SELECT" {
            grants.tables.insert((schema, table));
        } else {
            grants.other_table_privileges.insert((schema, table, privilege));
        }
    }
    Ok(grants)
}
