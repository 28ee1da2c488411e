//! Reading the link's current state from the catalogs of both clusters.

use super::plan::{advice_function_names, advise_signature};
use super::registry::{registry_table, REGISTRY_SCHEMA, REGISTRY_TABLE};
use super::spec::{LinkSpec, ReportRolesSpec};
use super::state::{
    AdviceState, Column, ForeignTableState, LocalRoleState, LocalSchemaState, LocalState, RegistryState, RemoteState,
    ReportRolesState, ReportsSchemaState, RoleGrants, RoleState, ServerState, StoredLink, TypeKey, UserType,
};
use fdw_bridge_pg::role::{clone_role_name, ORDINARY_SLOTS_SQL};
use fdw_bridge_pg::PgError;
use std::collections::BTreeMap;
use tokio_postgres::Client;

/// Reads the remote cluster: the FDW role (and clone) with their grants, and the
/// tables of the schemas the link imports. `fdw_password_works` is filled in by
/// the caller, which alone can try a login.
pub async fn read_remote(client: &Client, spec: &LinkSpec) -> Result<RemoteState, PgError> {
    let ctx = "reading the remote cluster's catalog";
    let row = client
        .query_one(&format!("SELECT current_database()::text, {ORDINARY_SLOTS_SQL}"), &[])
        .await
        .map_err(|e| PgError::new(ctx, &e))?;
    let mut state = RemoteState {
        database: row.get(0),
        connection_budget: u32::try_from(row.get::<_, i32>(1)).unwrap_or(0),
        fdw_role: read_role(client, &spec.fdw_user).await?,
        clone_role: read_role(client, &clone_role_name(&spec.fdw_user)).await?,
        ..Default::default()
    };
    let rows = client
        .query(
            "SELECT n.nspname::text, c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod)
               FROM pg_namespace n
               LEFT JOIN pg_class c ON c.relnamespace = n.oid
                    AND c.relkind IN ('r', 'v', 'm', 'f', 'p') AND NOT c.relispartition
               LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
              WHERE n.nspname = ANY($1)
              ORDER BY 1, 2, a.attnum",
            &[&spec.remote_schemas()],
        )
        .await
        .map_err(|e| PgError::new(ctx, &e))?;
    for r in client
        .query(
            "SELECT n.nspname::text, c.relname::text, pg_get_userbyid(c.relowner)::text
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'v', 'm', 'f', 'p') AND NOT c.relispartition
                AND NOT has_table_privilege(c.oid, 'SELECT WITH GRANT OPTION')",
            &[&spec.remote_schemas()],
        )
        .await
        .map_err(|e| PgError::new(ctx, &e))?
    {
        state.ungrantable.insert((r.get(0), r.get(1)), r.get(2));
    }
    // n_live_tup follows inserts and deletes as they commit; reltuples only
    // after VACUUM or ANALYZE on the remote cluster, so it is the fallback.
    for r in client
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
            &[&spec.remote_schemas()],
        )
        .await
        .map_err(|e| PgError::new(ctx, &e))?
    {
        let (live, estimated): (i64, i64) = (r.get(2), r.get(3));
        let rows = if live > 0 { live } else { estimated.max(0) };
        state.row_counts.insert((r.get(0), r.get(1)), rows);
    }
    (state.types, state.user_typed_columns) =
        super::inspect_types::read_remote_types(client, &spec.remote_schemas()).await?;
    for row in rows {
        let schema: String = row.get(0);
        let tables = state.schemas.entry(schema).or_default();
        if let Some(table) = row.get::<_, Option<String>>(1) {
            let columns = tables.entry(table).or_default();
            if let (Some(name), Some(data_type)) = (row.get::<_, Option<String>>(2), row.get::<_, Option<String>>(3)) {
                columns.push(Column { name, data_type });
            }
        }
    }
    Ok(state)
}

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
    Ok(Some(RoleState {
        can_login: row.get(1),
        connection_limit: row.get(3),
        comment: row.get(2),
        grants,
    }))
}

/// Reads the local cluster: extension, server, user mappings, the link's local
/// schemas with their relations and grants, and which local roles exist.
pub async fn read_local(client: &Client, spec: &LinkSpec) -> Result<LocalState, PgError> {
    let ctx = "reading the local cluster's catalog";
    let q = |e: tokio_postgres::Error| PgError::new(ctx, &e);
    let row = client
        .query_one(
            "SELECT current_user::text, EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'postgres_fdw')",
            &[],
        )
        .await
        .map_err(q)?;
    let mut state = LocalState {
        current_user: row.get(0),
        extension_installed: row.get(1),
        ..Default::default()
    };
    state.server = client
        .query_opt(
            "SELECT w.fdwname::text, coalesce(s.srvoptions, '{}'), obj_description(s.oid, 'pg_foreign_server')
               FROM pg_foreign_server s JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw
              WHERE s.srvname = $1",
            &[&spec.server_name],
        )
        .await
        .map_err(q)?
        .map(|r| ServerState {
            wrapper: r.get(0),
            options: parse_options(r.get(1)),
            comment: r.get(2),
        });
    for r in client
        .query(
            "SELECT usename::text, umoptions FROM pg_user_mappings WHERE srvname = $1",
            &[&spec.server_name],
        )
        .await
        .map_err(q)?
    {
        let role: String = r.get(0);
        // pg_user_mappings shows a non-superuser only its own mapping's options.
        let options: Option<Vec<String>> = r.get(1);
        if options.is_none() && role != state.current_user {
            state.hidden_mappings.insert(role.clone());
        }
        state.mappings.insert(role, parse_options(options.unwrap_or_default()));
    }
    // The schemas asked for, and every schema carrying the link's marker that
    // holds foreign tables of its server or that the link's stored properties
    // name: an old LocalSchema (renamed since; empty when B's schema had no
    // tables yet, so only the stored properties still know it).
    state.registry = read_registry(client).await?;
    state.advice = read_advice(client, &spec.server_name).await?;
    let stored_schemas = stored_local_schemas(state.registry.as_ref(), &spec.server_name);
    let mut schemas = Vec::new();
    for r in client
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
        .map_err(q)?
    {
        schemas.push(r.get::<_, String>(0));
        state.schemas.insert(
            r.get(0),
            LocalSchemaState {
                comment: r.get(1),
                other_objects: r.get(2),
                public_usage: r.get(3),
                ..Default::default()
            },
        );
    }
    for r in client
        .query(
            "SELECT n.nspname::text, g.rolname::text
               FROM pg_namespace n, aclexplode(n.nspacl) a JOIN pg_roles g ON g.oid = a.grantee
              WHERE n.nspname = ANY($1) AND a.privilege_type = 'USAGE' AND a.grantee <> n.nspowner",
            &[&schemas],
        )
        .await
        .map_err(q)?
    {
        if let Some(s) = state.schemas.get_mut(&r.get::<_, String>(0)) {
            s.usage.insert(r.get(1));
        }
    }
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
        .map_err(q)?;
    for r in relations {
        let Some(schema) = state.schemas.get_mut(&r.get::<_, String>(0)) else {
            continue;
        };
        let name: String = r.get(1);
        match r.get::<_, Option<String>>(2) {
            Some(server) => {
                let names: Vec<String> = r.get(4);
                let types: Vec<String> = r.get(5);
                schema.foreign_tables.insert(
                    name,
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
                    },
                );
            }
            None => {
                schema.other_relations.insert(name);
            }
        }
    }
    // The report roles are made by the link itself, so they are never "missing".
    let made_here: Vec<String> = spec
        .report_roles
        .iter()
        .flat_map(|r| r.roles().map(|role| role.name.clone()))
        .collect();
    state.missing_roles = client
        .query(
            "SELECT r FROM unnest($1::text[]) r
              WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) AND r <> ALL($2)",
            &[&spec.local_roles, &made_here],
        )
        .await
        .map_err(q)?
        .into_iter()
        .map(|r| r.get(0))
        .collect();
    state.server_tables_elsewhere = client
        .query(
            "SELECT format('%I.%I', n.nspname, c.relname)
               FROM pg_foreign_table ft JOIN pg_foreign_server fs ON fs.oid = ft.ftserver
               JOIN pg_class c ON c.oid = ft.ftrelid JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE fs.srvname = $1 AND NOT (n.nspname = ANY($2))",
            &[&spec.server_name, &schemas],
        )
        .await
        .map_err(q)?
        .into_iter()
        .map(|r| r.get(0))
        .collect();
    if let Some(reports) = &spec.report_roles {
        state.reports = read_report_roles(client, reports).await?;
    }
    Ok(state)
}

/// The LocalSchemas the link's stored properties name (what it was before this run).
fn stored_local_schemas(registry: Option<&RegistryState>, server: &str) -> Vec<String> {
    registry
        .and_then(|r| r.links.get(server))
        .and_then(|row| row.properties.get("ImportSchemas"))
        .and_then(serde_json::Value::as_array)
        .map(|imports| {
            imports
                .iter()
                .filter_map(|i| i.get("LocalSchema").and_then(serde_json::Value::as_str))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The link registry on the local cluster (`fdw_bridge.links`), when it exists.
pub async fn read_registry(client: &Client) -> Result<Option<RegistryState>, PgError> {
    let q = |e: tokio_postgres::Error| {
        PgError::new("reading the link registry (fdw_bridge.links) on the local cluster", &e)
    };
    let Some(row) = client
        .query_opt(
            "SELECT obj_description(n.oid, 'pg_namespace'),
                    (SELECT count(*) FROM pg_class c WHERE c.relnamespace = n.oid
                        AND c.relname NOT IN ('links', 'links_pkey'))
                  + (SELECT count(*) FROM pg_proc p WHERE p.pronamespace = n.oid AND p.proname <> ALL ($3::text[]))
                  + (SELECT count(*) FROM pg_type t WHERE t.typnamespace = n.oid AND t.typrelid = 0 AND t.typelem = 0)
               FROM pg_namespace n
              WHERE n.nspname = $1::text AND to_regclass(format('%I.%I', $1::text, $2::text)) IS NOT NULL",
            &[&REGISTRY_SCHEMA, &REGISTRY_TABLE, &advice_function_names()],
        )
        .await
        .map_err(q)?
    else {
        return Ok(None);
    };
    let mut state = RegistryState {
        schema_comment: row.get(0),
        other_objects: row.get(1),
        links: BTreeMap::new(),
    };
    let rows = match client
        .query(
            &format!(
                "SELECT server_name, link_id, stack_id, logical_resource_id, properties::text FROM {}",
                registry_table()
            ),
            &[],
        )
        .await
    {
        Ok(rows) => rows,
        // Dropped with another link's last row between the two reads: only a read outside
        // fdw-bridge's lock (a preflight plan, a refresh's listing) can see that; the plan
        // made under the lock reads the registry again.
        Err(e) if e.code() == Some(&fdw_bridge_pg::SqlState::UNDEFINED_TABLE) => return Ok(None),
        Err(e) => return Err(q(e)),
    };
    for r in rows {
        let server_name: String = r.get(0);
        let text: String = r.get(4);
        // Written by the link itself as jsonb: text that is not JSON cannot come back from it.
        let properties = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
        state.links.insert(
            server_name.clone(),
            StoredLink {
                server_name,
                link_id: r.get(1),
                stack_id: r.get(2),
                logical_resource_id: r.get(3),
                properties,
            },
        );
    }
    Ok(Some(state))
}

/// `fdw_bridge.advise` when it is installed: its comment (the version), the
/// roles granted EXECUTE (its owner aside), and which of them another server maps.
async fn read_advice(client: &Client, server: &str) -> Result<Option<AdviceState>, PgError> {
    let q = |e: tokio_postgres::Error| {
        PgError::new("reading the query advice (fdw_bridge.advise) on the local cluster", &e)
    };
    let Some(row) = client
        .query_opt(
            "SELECT obj_description(p.oid, 'pg_proc'),
                    coalesce(array_agg(DISTINCT r.rolname::text) FILTER (WHERE r.rolname IS NOT NULL), '{}'),
                    coalesce(array_agg(DISTINCT r.rolname::text) FILTER (WHERE EXISTS
                      (SELECT 1 FROM pg_user_mappings um WHERE um.umuser = r.oid AND um.srvname <> $2)), '{}')
               FROM pg_proc p
               LEFT JOIN LATERAL aclexplode(p.proacl) a ON a.privilege_type = 'EXECUTE' AND a.grantee <> p.proowner
               LEFT JOIN pg_roles r ON r.oid = a.grantee
              WHERE p.oid = to_regprocedure($1)
              GROUP BY p.oid",
            &[&advise_signature(), &server],
        )
        .await
        .map_err(q)?
    else {
        return Ok(None);
    };
    let callers: Vec<String> = row.get(1);
    let elsewhere: Vec<String> = row.get(2);
    Ok(Some(AdviceState {
        comment: row.get(0),
        callers: callers.into_iter().collect(),
        mapped_elsewhere: elsewhere.into_iter().collect(),
    }))
}

/// The report roles, schema `fdw_reports`, and the reader's grants on the tables the reports read.
async fn read_report_roles(client: &Client, spec: &ReportRolesSpec) -> Result<ReportRolesState, PgError> {
    let q = |e: tokio_postgres::Error| PgError::new("reading the report roles on the local cluster", &e);
    let mut state = ReportRolesState::default();
    let names: Vec<&str> = spec.roles().map(|r| r.name.as_str()).to_vec();
    for r in client
        .query(
            "SELECT rolname::text, rolcanlogin, shobj_description(oid, 'pg_authid'),
                    pg_has_role(current_user, oid, 'MEMBER')
               FROM pg_roles WHERE rolname = ANY($1)",
            &[&names],
        )
        .await
        .map_err(q)?
    {
        state.roles.insert(
            r.get(0),
            LocalRoleState {
                can_login: r.get(1),
                comment: r.get(2),
                admin_is_member: r.get(3),
            },
        );
    }
    state.schema = client
        .query_opt(
            "SELECT pg_get_userbyid(n.nspowner)::text, obj_description(n.oid, 'pg_namespace'),
                    coalesce((SELECT array_agg(c.relname::text ORDER BY c.relname) FROM pg_class c
                               WHERE c.relnamespace = n.oid AND c.relkind IN ('r', 'p')), '{}'),
                    coalesce((SELECT array_agg(pg_get_userbyid(c.relowner)::text ORDER BY c.relname) FROM pg_class c
                               WHERE c.relnamespace = n.oid AND c.relkind IN ('r', 'p')), '{}')
               FROM pg_namespace n WHERE n.nspname = 'fdw_reports'",
            &[],
        )
        .await
        .map_err(q)?
        .map(|r| ReportsSchemaState {
            owner: r.get(0),
            comment: r.get(1),
            tables: r
                .get::<_, Vec<String>>(2)
                .into_iter()
                .zip(r.get::<_, Vec<String>>(3))
                .collect(),
        });
    let reader = &spec.reader.name;
    let reader_exists = state.roles.contains_key(reader);
    for (schema, table) in &spec.read_tables {
        let row = client
            .query_one(
                // CASE: the privilege functions fail for a role that does not exist yet.
                "SELECT c.oid IS NOT NULL,
                        CASE WHEN $3 AND c.oid IS NOT NULL THEN has_table_privilege($4, c.oid, 'SELECT') ELSE false END,
                        CASE WHEN $3 THEN EXISTS (SELECT 1 FROM pg_namespace n WHERE n.nspname = $1
                                                    AND has_schema_privilege($4, n.oid, 'USAGE'))
                             ELSE false END
                   FROM (SELECT to_regclass(format('%I.%I', $1::text, $2::text))::oid AS oid) c",
                &[schema, table, &reader_exists, reader],
            )
            .await
            .map_err(q)?;
        let key = (schema.clone(), table.clone());
        if row.get(0) {
            state.read_tables_present.insert(key.clone());
        }
        if row.get(1) {
            state.read_tables_granted.insert(key);
        }
        if row.get(2) {
            state.read_schemas_usable.insert(schema.clone());
        }
    }
    Ok(state)
}

/// The local types named like `wanted` (the remote types the link needs) and
/// every type this link holds (comment [`LinkSpec::role_comment`]), with the schemas that hold them.
pub async fn read_local_types(
    client: &Client,
    spec: &LinkSpec,
    wanted: &[TypeKey],
) -> Result<(BTreeMap<TypeKey, UserType>, BTreeMap<String, (Option<String>, i64)>), PgError> {
    let types = super::inspect_types::read_wanted_types(client, wanted, &spec.role_comment()).await?;
    let mut schemas: Vec<String> = wanted.iter().chain(types.keys()).map(|k| k.0.clone()).collect();
    schemas.dedup();
    let mut type_schemas = BTreeMap::new();
    for r in client
        .query(
            "SELECT n.nspname::text, obj_description(n.oid, 'pg_namespace'),
                    (SELECT count(*) FROM pg_class c WHERE c.relnamespace = n.oid AND c.relkind <> 'c')
                  -- (a range type's constructor functions are part of the type)
                  + (SELECT count(*) FROM pg_proc p WHERE p.pronamespace = n.oid
                        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                                           AND d.objid = p.oid AND d.deptype = 'i'))
                  + (SELECT count(*) FROM pg_type t WHERE t.typnamespace = n.oid AND t.typcategory <> 'A'
                        AND (t.typrelid = 0 OR EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind = 'c'))
                        AND NOT EXISTS (SELECT 1 FROM pg_range r WHERE r.rngmultitypid = t.oid))
               FROM pg_namespace n WHERE n.nspname = ANY($1)",
            &[&schemas],
        )
        .await
        .map_err(|e| PgError::new("reading the local cluster's type schemas", &e))?
    {
        type_schemas.insert(r.get(0), (r.get(1), r.get(2)));
    }
    Ok((types, type_schemas))
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
