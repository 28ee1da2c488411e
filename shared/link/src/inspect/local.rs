//! The local cluster: extension, foreign server, user mappings, the link's
//! local schemas with their relations and grants, and which local roles exist.

use super::advice::read_advice;
use super::registry::{read_registry, stored_local_schemas};
use super::report_roles::read_report_roles;
use crate::spec::LinkSpec;
use crate::state::{Column, ForeignTableState, LocalSchemaState, LocalState, ServerState};
use fdw_bridge_pg::PgError;
use std::collections::{BTreeMap, BTreeSet};
use tokio_postgres::Client;

/// Reads the local cluster: extension, server, user mappings, the link's local
/// schemas with their relations and grants, and which local roles exist.
pub async fn read_local(client: &Client, spec: &LinkSpec) -> Result<LocalState, PgError> {
    let row = client
        .query_one(
            "SELECT current_user::text, EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'postgres_fdw')",
            &[],
        )
        .await
        .map_err(local_error)?;
    let mut state = LocalState {
        current_user: row.get(0),
        extension_installed: row.get(1),
        ..Default::default()
    };
    state.server = read_server(client, &spec.server_name).await?;
    (state.mappings, state.hidden_mappings) =
        read_user_mappings(client, &spec.server_name, &state.current_user).await?;
    state.registry = read_registry(client).await?;
    state.advice = read_advice(client, &spec.server_name).await?;
    let stored_schemas = stored_local_schemas(state.registry.as_ref(), &spec.server_name);
    let mut schemas = Vec::new();
    for (name, schema) in read_link_schemas(client, spec, &stored_schemas).await? {
        schemas.push(name.clone());
        state.schemas.insert(name, schema);
    }
    read_schema_usage(client, &schemas, &mut state.schemas).await?;
    read_relations(client, &schemas, &mut state.schemas).await?;
    state.missing_roles = read_missing_roles(client, spec).await?;
    state.server_tables_elsewhere = read_server_tables_elsewhere(client, &spec.server_name, &schemas).await?;
    if let Some(reports) = &spec.report_roles {
        state.reports = read_report_roles(client, reports).await?;
    }
    Ok(state)
}

fn local_error(e: tokio_postgres::Error) -> PgError {
    PgError::new("reading the local cluster's catalog", &e)
}

/// The link's foreign server, when it exists: its wrapper, options and comment.
async fn read_server(client: &Client, server: &str) -> Result<Option<ServerState>, PgError> {
    Ok(client
        .query_opt(
            "SELECT w.fdwname::text, coalesce(s.srvoptions, '{}'), obj_description(s.oid, 'pg_foreign_server')
               FROM pg_foreign_server s JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw
              WHERE s.srvname = $1",
            &[&server],
        )
        .await
        .map_err(local_error)?
        .map(|r| ServerState {
            wrapper: r.get(0),
            options: parse_options(r.get(1)),
            comment: r.get(2),
        }))
}

/// The server's user mappings (role to options), and the roles whose options the admin may not read.
async fn read_user_mappings(
    client: &Client,
    server: &str,
    current_user: &str,
) -> Result<(BTreeMap<String, BTreeMap<String, String>>, BTreeSet<String>), PgError> {
    let (mut mappings, mut hidden) = (BTreeMap::new(), BTreeSet::new());
    for r in client
        .query(
            "SELECT usename::text, umoptions FROM pg_user_mappings WHERE srvname = $1",
            &[&server],
        )
        .await
        .map_err(local_error)?
    {
        let role: String = r.get(0);
        // pg_user_mappings shows a non-superuser only its own mapping's options.
        let options: Option<Vec<String>> = r.get(1);
        if options.is_none() && role != current_user {
            hidden.insert(role.clone());
        }
        mappings.insert(role, parse_options(options.unwrap_or_default()));
    }
    Ok((mappings, hidden))
}

/// The schemas asked for, and every schema carrying the link's marker that
/// holds foreign tables of its server or that the link's stored properties
/// name: an old LocalSchema (renamed since; empty when B's schema had no
/// tables yet, so only the stored properties still know it). In catalog order.
async fn read_link_schemas(
    client: &Client,
    spec: &LinkSpec,
    stored_schemas: &[String],
) -> Result<Vec<(String, LocalSchemaState)>, PgError> {
    Ok(client
        .query(
            "SELECT n.nspname::text, obj_description(n.oid, 'pg_namespace'),
                    (SELECT count(*) FROM pg_proc p WHERE p.pronamespace = n.oid)
                  + (SELECT count(*) FROM pg_type t WHERE t.typnamespace = n.oid AND t.typrelid = 0 AND t.typelem = 0),
                    EXISTS (SELECT 1 FROM aclexplode(n.nspacl) a WHERE a.grantee = 0 AND a.privilege_type = 'USAGE')
               FROM pg_namespace n
              WHERE n.nspname = ANY($1)
                 OR (obj_description(n.oid, 'pg_namespace') = $2
                     AND (n.nspname = ANY($4)
                          OR EXISTS (SELECT 1 FROM pg_class c JOIN pg_foreign_table ft ON ft.ftrelid = c.oid
                                       JOIN pg_foreign_server s ON s.oid = ft.ftserver
                                      WHERE c.relnamespace = n.oid AND s.srvname = $3)))",
            &[&spec.local_schemas(), &spec.marker, &spec.server_name, &stored_schemas],
        )
        .await
        .map_err(local_error)?
        .into_iter()
        .map(|r| {
            let schema = LocalSchemaState {
                comment: r.get(1),
                other_objects: r.get(2),
                public_usage: r.get(3),
                ..Default::default()
            };
            (r.get(0), schema)
        })
        .collect())
}

/// The roles holding USAGE on each of `schemas` (owners excluded).
async fn read_schema_usage(
    client: &Client,
    schemas: &[String],
    states: &mut BTreeMap<String, LocalSchemaState>,
) -> Result<(), PgError> {
    for r in client
        .query(
            "SELECT n.nspname::text, g.rolname::text
               FROM pg_namespace n, aclexplode(n.nspacl) a JOIN pg_roles g ON g.oid = a.grantee
              WHERE n.nspname = ANY($1) AND a.privilege_type = 'USAGE' AND a.grantee <> n.nspowner",
            &[&schemas],
        )
        .await
        .map_err(local_error)?
    {
        if let Some(s) = states.get_mut(&r.get::<_, String>(0)) {
            s.usage.insert(r.get(1));
        }
    }
    Ok(())
}

/// The relations in each of `schemas`: foreign tables (with server, columns,
/// readers, dependent views and analyzed rows) and the names of all others.
async fn read_relations(
    client: &Client,
    schemas: &[String],
    states: &mut BTreeMap<String, LocalSchemaState>,
) -> Result<(), PgError> {
    let relations = client
        .query(
            "SELECT n.nspname::text, c.relname::text, fs.srvname::text,
                    coalesce((SELECT array_agg(g.rolname::text ORDER BY g.rolname)
                                FROM aclexplode(c.relacl) a JOIN pg_roles g ON g.oid = a.grantee
                               WHERE a.privilege_type = 'SELECT' AND a.grantee <> c.relowner), '{}'),
                    coalesce((SELECT array_agg(a.attname::text ORDER BY a.attnum) FROM pg_attribute a
                               WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '{}'),
                    coalesce((SELECT array_agg(format_type(a.atttypid, a.atttypmod) ORDER BY a.attnum) FROM pg_attribute a
                               WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '{}'),
                    coalesce((SELECT array_agg(DISTINCT format('%I.%I', vn.nspname, v.relname))
                                FROM pg_depend d JOIN pg_rewrite rw ON rw.oid = d.objid
                                JOIN pg_class v ON v.oid = rw.ev_class JOIN pg_namespace vn ON vn.oid = v.relnamespace
                               WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
                                 AND d.refobjid = c.oid AND v.oid <> c.oid), '{}'),
                    round(c.reltuples)::bigint
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               LEFT JOIN pg_foreign_table ft ON ft.ftrelid = c.oid
               LEFT JOIN pg_foreign_server fs ON fs.oid = ft.ftserver
              WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'v', 'm', 'f', 'p', 'S', 'c')",
            &[&schemas],
        )
        .await
        .map_err(local_error)?;
    for r in relations {
        let Some(schema) = states.get_mut(&r.get::<_, String>(0)) else {
            continue;
        };
        let name: String = r.get(1);
        match r.get::<_, Option<String>>(2) {
            Some(server) => {
                schema.foreign_tables.insert(name, foreign_table(&r, server));
            }
            None => {
                schema.other_relations.insert(name);
            }
        }
    }
    Ok(())
}

/// A foreign table from a row of [`read_relations`].
fn foreign_table(r: &tokio_postgres::Row, server: String) -> ForeignTableState {
    let names: Vec<String> = r.get(4);
    let types: Vec<String> = r.get(5);
    ForeignTableState {
        server,
        columns: names
            .into_iter()
            .zip(types)
            .map(|(name, data_type)| Column { name, data_type })
            .collect(),
        readers: r.get::<_, Vec<String>>(3).into_iter().collect(),
        dependents: r.get(6),
        // -1: never analyzed (PostgreSQL 14 and later).
        analyzed_rows: Some(r.get::<_, i64>(7)).filter(|n| *n >= 0),
    }
}

/// The local roles the link asks for that do not exist.
async fn read_missing_roles(client: &Client, spec: &LinkSpec) -> Result<Vec<String>, PgError> {
    // The report roles are made by the link itself, so they are never "missing".
    let made_here: Vec<String> = spec
        .report_roles
        .iter()
        .flat_map(|r| r.roles().map(|role| role.name.clone()))
        .collect();
    Ok(client
        .query(
            "SELECT r FROM unnest($1::text[]) r
              WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) AND r <> ALL($2)",
            &[&spec.local_roles, &made_here],
        )
        .await
        .map_err(local_error)?
        .into_iter()
        .map(|r| r.get(0))
        .collect())
}

/// Foreign tables of the server outside the link's local schemas ("schema.table").
async fn read_server_tables_elsewhere(
    client: &Client,
    server: &str,
    schemas: &[String],
) -> Result<Vec<String>, PgError> {
    Ok(client
        .query(
            "SELECT format('%I.%I', n.nspname, c.relname)
               FROM pg_foreign_table ft JOIN pg_foreign_server fs ON fs.oid = ft.ftserver
               JOIN pg_class c ON c.oid = ft.ftrelid JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE fs.srvname = $1 AND NOT (n.nspname = ANY($2))",
            &[&server, &schemas],
        )
        .await
        .map_err(local_error)?
        .into_iter()
        .map(|r| r.get(0))
        .collect())
}

/// `{key=value,...}` option arrays (the value may itself hold `=`).
fn parse_options(raw: Vec<String>) -> BTreeMap<String, String> {
    raw.into_iter()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (kv, String::new()),
        })
        .collect()
}
