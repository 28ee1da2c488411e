//! The pure planner: desired state + catalog state in, SQL statements out.
//! No I/O here; every decision about what to create, change or drop is made here
//! and tested without a server.

use super::spec::LinkSpec;
use super::state::{Column, LocalState, RemoteState, RoleState};
use crate::link::clone_role_name;
use crate::sql::{ident, literal, qualified, Statement, REDACTED};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    #[error("remote schema {schema:?} does not exist in database {database:?} on the remote cluster: check ImportSchemas[{index}].RemoteSchema")]
    RemoteSchemaMissing {
        schema: String,
        database: String,
        index: usize,
    },
    #[error(
        "table {table:?} listed in ImportSchemas[{index}].IncludeTables does not exist in remote schema {schema:?}"
    )]
    IncludedTableMissing {
        table: String,
        schema: String,
        index: usize,
    },
    #[error("role {role:?} already exists on the remote cluster and was not created by this link ({owner}): put another username in the FDW role secret, or drop that role")]
    RemoteRoleNotOurs { role: String, owner: String },
    #[error("the FDW role secret names {role:?}, the remote admin: user mappings must use a least-privilege role, never the master user")]
    FdwRoleIsAdmin { role: String },
    #[error("foreign server {server:?} already exists on the local cluster and was not created by this link ({owner}): choose another ServerName, or drop it")]
    ServerNotOurs { server: String, owner: String },
    #[error("foreign server {server:?} uses wrapper {wrapper:?}, not postgres_fdw")]
    WrongWrapper { server: String, wrapper: String },
    #[error("local role(s) {roles} in LocalRoles do not exist on the local cluster: create them first or remove them from LocalRoles")]
    LocalRolesMissing { roles: String },
    #[error("{schema}.{table} already exists on the local cluster and is not a foreign table of server {server:?}: rename it, or import into another LocalSchema")]
    LocalNameTaken {
        schema: String,
        table: String,
        server: String,
    },
    #[error("remote tables {table:?} from two ImportSchemas entries would both land in local schema {schema:?}: give them different LocalSchema values")]
    DuplicateLocalTable { schema: String, table: String },
    #[error("foreign tables outside the link's schemas use server {server:?} ({tables}); they were not created by fdw-bridge: drop them or move them off the server, then delete again")]
    ForeignTablesElsewhere { server: String, tables: String },
}

/// One remote table as it will appear locally.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExposedTable {
    pub remote_schema: String,
    pub local_schema: String,
    pub name: String,
    pub columns: Vec<Column>,
}

/// Which remote tables the link exposes: each import's tables, filtered by its
/// include and exclude lists.
pub fn exposed_tables(spec: &LinkSpec, remote: &RemoteState) -> Result<Vec<ExposedTable>, PlanError> {
    let mut out: Vec<ExposedTable> = Vec::new();
    for (index, import) in spec.imports.iter().enumerate() {
        let tables = remote
            .schemas
            .get(&import.remote_schema)
            .ok_or_else(|| PlanError::RemoteSchemaMissing {
                schema: import.remote_schema.clone(),
                database: remote.database.clone(),
                index,
            })?;
        if let Some(missing) = import.include.iter().find(|t| !tables.contains_key(*t)) {
            return Err(PlanError::IncludedTableMissing {
                table: missing.clone(),
                schema: import.remote_schema.clone(),
                index,
            });
        }
        for (name, columns) in tables.iter().filter(|(name, _)| import.exposes(name)) {
            if out
                .iter()
                .any(|t| t.local_schema == import.local_schema && &t.name == name)
            {
                return Err(PlanError::DuplicateLocalTable {
                    schema: import.local_schema.clone(),
                    table: name.clone(),
                });
            }
            out.push(ExposedTable {
                remote_schema: import.remote_schema.clone(),
                local_schema: import.local_schema.clone(),
                name: name.clone(),
                columns: columns.clone(),
            });
        }
    }
    Ok(out)
}

/// Statements for the remote cluster: the FDW role and its SELECT-only grants.
pub fn plan_remote(
    spec: &LinkSpec,
    remote: &RemoteState,
    exposed: &[ExposedTable],
) -> Result<Vec<Statement>, PlanError> {
    if spec.fdw_user == spec.remote_admin_user {
        return Err(PlanError::FdwRoleIsAdmin {
            role: spec.fdw_user.clone(),
        });
    }
    let role = ident(&spec.fdw_user);
    let mut out = Vec::new();
    let as_clone = spec.logs_in_as_clone();
    // The base role holds the grants; it carries the password unless rotation
    // has switched the mappings to its clone.
    let base_password = (!as_clone).then_some((&spec.fdw_password, remote.fdw_password_works));
    ensure_role(spec, &spec.fdw_user, remote.fdw_role.as_ref(), base_password, &mut out)?;
    if as_clone {
        let clone = ident(&spec.login_user);
        let created = remote.clone_role.is_none();
        ensure_role(
            spec,
            &spec.login_user,
            remote.clone_role.as_ref(),
            Some((&spec.fdw_password, remote.fdw_password_works)),
            &mut out,
        )?;
        if created {
            // As rotation makes it: a member of the base role, so it reads what the base role may.
            out.push(Statement::plain(format!("GRANT {role} TO {clone}")));
            out.push(Statement::plain(format!(
                "GRANT CONNECT ON DATABASE {} TO {clone}",
                ident(&spec.remote_database)
            )));
        }
    } else if let Some(clone) = remote.clone_role.as_ref().filter(|c| spec.owns(c.comment.as_ref())) {
        // A clone left by rotation follows the base role's hand-over.
        hand_over(spec, &clone_role_name(&spec.fdw_user), clone, &mut out);
    }
    let empty = RoleState::default();
    let current = remote.fdw_role.as_ref().unwrap_or(&empty);
    let grants = &current.grants;

    if !grants.databases.contains(&spec.remote_database) {
        out.push(Statement::plain(format!(
            "GRANT CONNECT ON DATABASE {} TO {role}",
            ident(&spec.remote_database)
        )));
    }
    let wanted_schemas: BTreeSet<String> = spec.remote_schemas().into_iter().collect();
    for schema in wanted_schemas.difference(&grants.schemas) {
        out.push(Statement::plain(format!(
            "GRANT USAGE ON SCHEMA {} TO {role}",
            ident(schema)
        )));
    }
    let wanted_tables: BTreeSet<(String, String)> = exposed
        .iter()
        .map(|t| (t.remote_schema.clone(), t.name.clone()))
        .collect();
    let to_grant: Vec<String> = wanted_tables
        .difference(&grants.tables)
        .map(|(s, t)| qualified(s, t))
        .collect();
    if !to_grant.is_empty() {
        out.push(Statement::plain(format!(
            "GRANT SELECT ON TABLE {} TO {role}",
            to_grant.join(", ")
        )));
    }
    let to_revoke: Vec<String> = grants
        .tables
        .difference(&wanted_tables)
        .map(|(s, t)| qualified(s, t))
        .collect();
    if !to_revoke.is_empty() {
        out.push(Statement::plain(format!(
            "REVOKE SELECT ON TABLE {} FROM {role}",
            to_revoke.join(", ")
        )));
    }
    for (schema, table, privilege) in &grants.other_table_privileges {
        out.push(Statement::plain(format!(
            "REVOKE {privilege} ON TABLE {} FROM {role}",
            qualified(schema, table)
        )));
    }
    for schema in grants.schemas.difference(&wanted_schemas) {
        out.push(Statement::plain(format!(
            "REVOKE USAGE ON SCHEMA {} FROM {role}",
            ident(schema)
        )));
    }
    Ok(out)
}

/// `CREATE USER MAPPING` for `who` (already quoted: a role or PUBLIC) on
/// `server` (quoted), logging in as `user` with `password`; shown redacted.
pub fn create_user_mapping(who: &str, server: &str, user: &str, password: &str) -> Statement {
    let create = |pw: &str| {
        format!(
            "CREATE USER MAPPING FOR {who} SERVER {server} OPTIONS (user {}, password {pw})",
            literal(user)
        )
    };
    Statement::secret(create(&literal(password)), create(REDACTED))
}

/// Creates `name` when missing (with the password, if it carries it), refuses
/// a role this link did not make, and otherwise hands it over, lets it log in
/// and sets the password when the secret's no longer works.
fn ensure_role(
    spec: &LinkSpec,
    name: &str,
    state: Option<&RoleState>,
    password: Option<(&crate::link::spec::Password, bool)>,
    out: &mut Vec<Statement>,
) -> Result<(), PlanError> {
    let role = ident(name);
    match state {
        None => {
            let create = |pw: Option<&str>| {
                let mut sql = format!("CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION");
                if let Some(pw) = pw {
                    sql.push_str(&format!(" PASSWORD {pw}"));
                }
                sql
            };
            match password {
                Some((pw, _)) => out.push(Statement::secret(
                    create(Some(&literal(pw.expose()))),
                    create(Some(REDACTED)),
                )),
                None => out.push(Statement::plain(create(None))),
            }
            out.push(Statement::plain(format!(
                "COMMENT ON ROLE {role} IS {}",
                literal(&spec.role_comment())
            )));
        }
        Some(r) if !spec.owns(r.comment.as_ref()) => {
            return Err(PlanError::RemoteRoleNotOurs {
                role: name.to_string(),
                owner: owner_of(r.comment.as_deref()),
            })
        }
        Some(r) => {
            hand_over(spec, name, r, out);
            if !r.can_login {
                out.push(Statement::plain(format!("ALTER ROLE {role} LOGIN")));
            }
            if let Some((pw, false)) = password {
                let alter = |pw: &str| format!("ALTER ROLE {role} PASSWORD {pw}");
                out.push(Statement::secret(alter(&literal(pw.expose())), alter(REDACTED)));
            }
        }
    }
    Ok(())
}

/// A replacement hands a role over from the old identity to this one, so that
/// the old identity's Delete leaves it alone.
fn hand_over(spec: &LinkSpec, name: &str, state: &RoleState, out: &mut Vec<Statement>) {
    if state.comment.as_deref() != Some(spec.role_comment().as_str()) {
        out.push(Statement::plain(format!(
            "COMMENT ON ROLE {} IS {}",
            ident(name),
            literal(&spec.role_comment())
        )));
    }
}

/// Statements for the local cluster, and the foreign tables that are new (to ANALYZE).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct LocalPlan {
    pub statements: Vec<Statement>,
    /// "schema"."table" of foreign tables (re)imported by this plan.
    pub imported: Vec<(String, String)>,
}

pub fn plan_local(spec: &LinkSpec, local: &LocalState, exposed: &[ExposedTable]) -> Result<LocalPlan, PlanError> {
    if !local.missing_roles.is_empty() {
        return Err(PlanError::LocalRolesMissing {
            roles: local.missing_roles.join(", "),
        });
    }
    let server = ident(&spec.server_name);
    let mut plan = LocalPlan::default();
    let out = &mut plan.statements;

    if !local.extension_installed {
        out.push(Statement::plain("CREATE EXTENSION IF NOT EXISTS postgres_fdw"));
    }

    // The server and its options: one ALTER holding only what differs.
    let wanted_options = spec.all_server_options();
    match &local.server {
        None => {
            let options: Vec<String> = wanted_options
                .iter()
                .map(|(k, v)| format!("{} {}", ident(k), literal(v)))
                .collect();
            out.push(Statement::plain(format!(
                "CREATE SERVER {server} FOREIGN DATA WRAPPER postgres_fdw OPTIONS ({})",
                options.join(", ")
            )));
            out.push(Statement::plain(format!(
                "COMMENT ON SERVER {server} IS {}",
                literal(&spec.marker)
            )));
        }
        Some(s) if !spec.owns(s.comment.as_ref()) => {
            return Err(PlanError::ServerNotOurs {
                server: spec.server_name.clone(),
                owner: owner_of(s.comment.as_deref()),
            })
        }
        Some(s) if s.wrapper != "postgres_fdw" => {
            return Err(PlanError::WrongWrapper {
                server: spec.server_name.clone(),
                wrapper: s.wrapper.clone(),
            })
        }
        Some(s) => {
            let changes = option_changes(&s.options, &wanted_options, None);
            if !changes.is_empty() {
                out.push(Statement::plain(format!(
                    "ALTER SERVER {server} OPTIONS ({})",
                    changes.join(", ")
                )));
            }
        }
    }

    // User mappings: every mapped role logs in as the FDW role.
    let wanted_mapping: BTreeMap<String, String> = [
        ("user".to_string(), spec.login_user.clone()),
        ("password".to_string(), spec.fdw_password.expose().to_string()),
    ]
    .into();
    let mapped = spec.mapped_roles();
    let admin_in_sync = local.mappings.get(&spec.local_admin_user) == Some(&wanted_mapping);
    let create_mapping = |who: &str| create_user_mapping(who, &server, &spec.login_user, spec.fdw_password.expose());
    for role in &mapped {
        let who = ident(role);
        let hidden = local.hidden_mappings.contains(role);
        match local.mappings.get(role) {
            Some(_) if hidden && admin_in_sync => {}
            // Options unknown and the admin's are stale: write the mapping anew.
            Some(_) if hidden => {
                out.push(Statement::plain(format!("DROP USER MAPPING FOR {who} SERVER {server}")));
                out.push(create_mapping(&who));
            }
            None => {
                out.push(create_mapping(&who));
            }
            Some(current) => {
                let changes = option_changes(current, &wanted_mapping, None);
                if !changes.is_empty() {
                    let shown = option_changes(current, &wanted_mapping, Some("password"));
                    out.push(Statement::secret(
                        format!(
                            "ALTER USER MAPPING FOR {who} SERVER {server} OPTIONS ({})",
                            changes.join(", ")
                        ),
                        format!(
                            "ALTER USER MAPPING FOR {who} SERVER {server} OPTIONS ({})",
                            shown.join(", ")
                        ),
                    ));
                }
            }
        }
    }
    for role in local.mappings.keys().filter(|r| !mapped.contains(r)) {
        // "public" is the PUBLIC mapping, which has no quoted form.
        let who = if role == "public" {
            "PUBLIC".to_string()
        } else {
            ident(role)
        };
        out.push(Statement::plain(format!(
            "DROP USER MAPPING IF EXISTS FOR {who} SERVER {server}"
        )));
    }

    // Local schemas and foreign tables.
    for schema in spec.local_schemas() {
        let state = local.schemas.get(&schema);
        if state.is_none() {
            out.push(Statement::plain(format!("CREATE SCHEMA {}", ident(&schema))));
            out.push(Statement::plain(format!(
                "COMMENT ON SCHEMA {} IS {}",
                ident(&schema),
                literal(&spec.marker)
            )));
        }
        let wanted: Vec<&ExposedTable> = exposed.iter().filter(|t| t.local_schema == schema).collect();
        let mut drop = Vec::new();
        if let Some(state) = state {
            for t in &wanted {
                if state.other_relations.contains(&t.name) {
                    return Err(PlanError::LocalNameTaken {
                        schema: schema.clone(),
                        table: t.name.clone(),
                        server: spec.server_name.clone(),
                    });
                }
                if let Some(ft) = state.foreign_tables.get(&t.name) {
                    if ft.server != spec.server_name {
                        return Err(PlanError::LocalNameTaken {
                            schema: schema.clone(),
                            table: t.name.clone(),
                            server: spec.server_name.clone(),
                        });
                    }
                }
            }
            for (name, ft) in &state.foreign_tables {
                if ft.server != spec.server_name {
                    continue;
                }
                match wanted.iter().find(|t| &t.name == name) {
                    None => drop.push(name.clone()),
                    Some(t) if t.columns != ft.columns => drop.push(name.clone()),
                    Some(_) => {}
                }
            }
        }
        if !drop.is_empty() {
            let names: Vec<String> = drop.iter().map(|n| qualified(&schema, n)).collect();
            out.push(Statement::plain(format!("DROP FOREIGN TABLE {}", names.join(", "))));
        }
        // Import per remote schema what is missing or was just dropped.
        let mut by_remote: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for t in &wanted {
            let present = state
                .and_then(|s| s.foreign_tables.get(&t.name))
                .is_some_and(|_| !drop.contains(&t.name));
            if !present {
                by_remote.entry(&t.remote_schema).or_default().push(&t.name);
                plan.imported.push((schema.clone(), t.name.clone()));
            }
        }
        for (remote_schema, names) in by_remote {
            let list: Vec<String> = names.iter().map(|n| ident(n)).collect();
            out.push(Statement::plain(format!(
                "IMPORT FOREIGN SCHEMA {} LIMIT TO ({}) FROM SERVER {server} INTO {}",
                ident(remote_schema),
                list.join(", "),
                ident(&schema)
            )));
        }

        // Grants: USAGE on the schema and SELECT on its foreign tables, to the local roles only.
        let readers: BTreeSet<&String> = spec.local_roles.iter().collect();
        let usage: BTreeSet<String> = state.map(|s| s.usage.clone()).unwrap_or_default();
        for role in readers.iter().filter(|r| !usage.contains(**r)) {
            out.push(Statement::plain(format!(
                "GRANT USAGE ON SCHEMA {} TO {}",
                ident(&schema),
                ident(role)
            )));
        }
        for role in usage
            .iter()
            .filter(|r| !readers.contains(r) && *r != &spec.local_admin_user)
        {
            if state.is_some_and(|s| spec.owns(s.comment.as_ref())) {
                out.push(Statement::plain(format!(
                    "REVOKE USAGE ON SCHEMA {} FROM {}",
                    ident(&schema),
                    ident(role)
                )));
            }
        }
        for role in &readers {
            let lacking: Vec<String> = wanted
                .iter()
                .filter(|t| {
                    let fresh = plan.imported.iter().any(|(s, n)| s == &schema && n == &t.name);
                    fresh
                        || !state
                            .and_then(|s| s.foreign_tables.get(&t.name))
                            .is_some_and(|ft| ft.readers.contains(*role))
                })
                .map(|t| qualified(&schema, &t.name))
                .collect();
            if !lacking.is_empty() {
                out.push(Statement::plain(format!(
                    "GRANT SELECT ON TABLE {} TO {}",
                    lacking.join(", "),
                    ident(role)
                )));
            }
        }
        if let Some(state) = state {
            for t in wanted.iter().filter(|t| !drop.contains(&t.name)) {
                if let Some(ft) = state.foreign_tables.get(&t.name) {
                    for r in ft
                        .readers
                        .iter()
                        .filter(|r| !readers.contains(r) && *r != &spec.local_admin_user)
                    {
                        out.push(Statement::plain(format!(
                            "REVOKE SELECT ON TABLE {} FROM {}",
                            qualified(&schema, &t.name),
                            ident(r)
                        )));
                    }
                }
            }
        }
    }
    Ok(plan)
}

/// Who made an object, for errors: another fdw-bridge link, or someone else.
fn owner_of(comment: Option<&str>) -> String {
    match comment {
        Some(c) if super::is_managed(Some(c)) => format!("it belongs to another fdw-bridge link: {c}"),
        _ => "it was not made by fdw-bridge".to_string(),
    }
}

/// `SET`/`ADD`/`DROP` clauses that turn `current` options into `wanted`; the
/// value of option `redact`, if named, is shown as `'********'`.
fn option_changes(
    current: &BTreeMap<String, String>,
    wanted: &BTreeMap<String, String>,
    redact: Option<&str>,
) -> Vec<String> {
    let value = |k: &str, v: &str| {
        if redact == Some(k) {
            REDACTED.to_string()
        } else {
            literal(v)
        }
    };
    let mut changes = Vec::new();
    for (k, v) in wanted {
        match current.get(k) {
            Some(cur) if cur == v => {}
            Some(_) => changes.push(format!("SET {} {}", ident(k), value(k, v))),
            None => changes.push(format!("ADD {} {}", ident(k), value(k, v))),
        }
    }
    for k in current.keys().filter(|k| !wanted.contains_key(*k)) {
        changes.push(format!("DROP {}", ident(k)));
    }
    changes
}

/// Statements that remove what the link made on the local cluster: its foreign
/// tables, user mappings, server and the schemas it created (when nothing else is in them).
pub fn plan_local_removal(spec: &LinkSpec, local: &LocalState) -> Result<Vec<Statement>, PlanError> {
    // Already gone, or the name now belongs to something this link did not make.
    if !local.server.as_ref().is_some_and(|s| spec.owns(s.comment.as_ref())) {
        return Ok(Vec::new());
    }
    if !local.server_tables_elsewhere.is_empty() {
        return Err(PlanError::ForeignTablesElsewhere {
            server: spec.server_name.clone(),
            tables: local.server_tables_elsewhere.join(", "),
        });
    }
    let name = ident(&spec.server_name);
    let mut out = Vec::new();
    for schema in spec.local_schemas() {
        let Some(state) = local.schemas.get(&schema) else {
            continue;
        };
        let ours: Vec<&String> = state
            .foreign_tables
            .iter()
            .filter(|(_, ft)| ft.server == spec.server_name)
            .map(|(n, _)| n)
            .collect();
        if !ours.is_empty() {
            let names: Vec<String> = ours.iter().map(|n| qualified(&schema, n)).collect();
            out.push(Statement::plain(format!("DROP FOREIGN TABLE {}", names.join(", "))));
        }
        let only_ours_inside =
            state.other_relations.is_empty() && state.other_objects == 0 && ours.len() == state.foreign_tables.len();
        if spec.owns(state.comment.as_ref()) && only_ours_inside {
            out.push(Statement::plain(format!("DROP SCHEMA {}", ident(&schema))));
        }
    }
    for role in local.mappings.keys() {
        let who = if role == "public" {
            "PUBLIC".to_string()
        } else {
            ident(role)
        };
        out.push(Statement::plain(format!(
            "DROP USER MAPPING IF EXISTS FOR {who} SERVER {name}"
        )));
    }
    out.push(Statement::plain(format!("DROP SERVER {name}")));
    Ok(out)
}

/// Statements that remove the FDW role and its clone from the remote cluster,
/// when fdw-bridge made them; a role it did not make is left alone.
pub fn plan_remote_removal(spec: &LinkSpec, remote: &RemoteState) -> Vec<Statement> {
    let mut out = Vec::new();
    let roles = [
        (spec.fdw_user.clone(), remote.fdw_role.as_ref()),
        (clone_role_name(&spec.fdw_user), remote.clone_role.as_ref()),
    ];
    for (name, state) in roles {
        // Only while this link holds the role: after a replacement the new identity does.
        let Some(state) = state.filter(|s| s.comment.as_deref() == Some(spec.role_comment().as_str())) else {
            continue;
        };
        let role = ident(&name);
        let g = &state.grants;
        let tables: Vec<String> = g
            .tables
            .iter()
            .map(|(s, t)| (s, t))
            .chain(g.other_table_privileges.iter().map(|(s, t, _)| (s, t)))
            .map(|(s, t)| qualified(s, t))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if !tables.is_empty() {
            out.push(Statement::plain(format!(
                "REVOKE ALL ON TABLE {} FROM {role}",
                tables.join(", ")
            )));
        }
        for schema in &g.schemas {
            out.push(Statement::plain(format!(
                "REVOKE ALL ON SCHEMA {} FROM {role}",
                ident(schema)
            )));
        }
        for db in &g.databases {
            out.push(Statement::plain(format!(
                "REVOKE ALL ON DATABASE {} FROM {role}",
                ident(db)
            )));
        }
        out.push(Statement::plain(format!("DROP ROLE {role}")));
    }
    out
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
