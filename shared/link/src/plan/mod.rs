//! The pure planner: desired state + catalog state in, SQL statements out.
//! No I/O here; every decision about what to create, change or drop is made here
//! and tested without a server.

//!
//! One piece per concern, each a pure function with its own tests: the remote
//! role and grants ([`remote`]), the server ([`server`]), user mappings
//! ([`mappings`]), each local schema's foreign tables ([`imports`]) and who
//! may read them ([`grants`]), the link's row in the registry ([`registration`]),
//! the statistics to refresh ([`statistics`]), and removal ([`removal`], [`remote`]).

mod advice;
mod grants;
mod imports;
mod mappings;
mod registration;
mod remote;
mod removal;
mod report_roles;
mod server;
mod statistics;
mod types;

pub use advice::{advice_function_names, advise_signature};
pub use remote::{plan_connection_limits, plan_remote, plan_remote_removal};
pub use removal::plan_local_removal;
pub use statistics::moved_tables;

use super::spec::LinkSpec;
use super::state::{Column, LocalSchemaState, LocalState, RemoteState};
use fdw_bridge_pg::sql::{ident, literal, Statement, REDACTED};
use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LinkPlanError {
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
    #[error("ReportRoles.ReadTables: table {table} does not exist on the local cluster: create it, or remove it from ReadTables")]
    ReadTableMissing { table: String },
    #[error("role {role:?} already exists on the local cluster and was not created by this link ({owner}): put another username in the ReportRoles secret, or drop that role")]
    LocalRoleNotOurs { role: String, owner: String },
    #[error("schema fdw_reports on the local cluster belongs to {owner:?}, not to this link or the local admin: give it and its tables to {writer:?} (ALTER SCHEMA fdw_reports OWNER TO ...), or drop it")]
    ReportsSchemaNotOurs { owner: String, writer: String },
    #[error("remote column {table}.{column} has type {type_name}, which the link cannot reproduce on the local cluster: {why}; or leave {table} out with ExcludeTables")]
    TypeNotReproducible {
        table: String,
        column: String,
        type_name: String,
        why: String,
    },
    #[error("foreign table {table} must be dropped ({why}) but local views depend on it: {views}. Drop those views (keep their definitions: pg_get_viewdef), run the Update again, then re-create them; fdw-bridge never drops objects it did not make")]
    DependentViews {
        table: String,
        views: String,
        why: &'static str,
    },
    #[error("remote table {table} is owned by {owner} and the remote admin may not grant SELECT on it: as {owner} (or a superuser) run GRANT SELECT ON {table} TO {admin} WITH GRANT OPTION, or list it in ExcludeTables, or set OnUngrantable: Skip")]
    Ungrantable {
        table: String,
        owner: String,
        admin: String,
    },
    #[error("type {type_name} already exists on the local cluster and {owner}: the link makes remote types under the remote schema's name; drop or rename the local type, or exclude the tables that use it")]
    TypeNotOurs { type_name: String, owner: String },
    #[error("type {type_name} changed on the remote cluster in a way the link does not follow in place (only enum labels added are): local {local}, remote {remote}; Delete and re-create the link, or drop the foreign tables that use it and the type on the local cluster, then Update")]
    TypeChanged {
        type_name: String,
        local: String,
        remote: String,
    },
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
pub fn exposed_tables(spec: &LinkSpec, remote: &RemoteState) -> Result<Vec<ExposedTable>, LinkPlanError> {
    let mut out: Vec<ExposedTable> = Vec::new();
    for (index, import) in spec.imports.iter().enumerate() {
        let tables = remote
            .schemas
            .get(&import.remote_schema)
            .ok_or_else(|| LinkPlanError::RemoteSchemaMissing {
                schema: import.remote_schema.clone(),
                database: remote.database.clone(),
                index,
            })?;
        if let Some(missing) = import.include.iter().find(|t| !tables.contains_key(*t)) {
            return Err(LinkPlanError::IncludedTableMissing {
                table: missing.clone(),
                schema: import.remote_schema.clone(),
                index,
            });
        }
        for (name, columns) in tables.iter().filter(|(name, _)| import.exposes(name)) {
            if ungrantable(remote, &import.remote_schema, name).is_some() {
                continue;
            }
            if out
                .iter()
                .any(|t| t.local_schema == import.local_schema && &t.name == name)
            {
                return Err(LinkPlanError::DuplicateLocalTable {
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

/// The owner of a remote table the remote admin may not grant SELECT on, unless
/// the FDW role already holds SELECT on it (granted by its owner).
fn ungrantable<'a>(remote: &'a RemoteState, schema: &str, table: &str) -> Option<&'a String> {
    let key = (schema.to_string(), table.to_string());
    let granted = remote.fdw_role.as_ref().is_some_and(|r| r.grants.tables.contains(&key));
    remote.ungrantable.get(&key).filter(|_| !granted)
}

/// Remote tables the link leaves out because the remote admin may not grant
/// SELECT on them ("schema.table (owner)"), or the refusal when `OnUngrantable`
/// is Fail or the table is named in IncludeTables.
pub fn skipped_tables(spec: &LinkSpec, remote: &RemoteState) -> Result<Vec<String>, LinkPlanError> {
    let mut out = Vec::new();
    for import in &spec.imports {
        let Some(tables) = remote.schemas.get(&import.remote_schema) else {
            continue;
        };
        for name in tables.keys().filter(|name| import.exposes(name)) {
            let Some(owner) = ungrantable(remote, &import.remote_schema, name) else {
                continue;
            };
            if !spec.skip_ungrantable || import.include.contains(name) {
                return Err(LinkPlanError::Ungrantable {
                    table: fdw_bridge_pg::sql::qualified(&import.remote_schema, name),
                    owner: owner.clone(),
                    admin: fdw_bridge_pg::sql::ident(&spec.remote_admin_user),
                });
            }
            out.push(format!("{}.{} (owner {owner})", import.remote_schema, name));
        }
    }
    Ok(out)
}

/// Statements for the local cluster, and the foreign tables that are new (to ANALYZE).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct LocalPlan {
    pub statements: Vec<Statement>,
    /// "schema"."table" of foreign tables (re)imported by this plan.
    pub imported: Vec<(String, String)>,
}

/// The local cluster: server, user mappings, the user-defined types the
/// columns need, then each local schema's foreign tables and grants, and last
/// the types nothing uses any more.
pub fn plan_local(
    spec: &LinkSpec,
    remote: &RemoteState,
    local: &LocalState,
    exposed: &[ExposedTable],
) -> Result<LocalPlan, LinkPlanError> {
    if !local.missing_roles.is_empty() {
        return Err(LinkPlanError::LocalRolesMissing {
            roles: local.missing_roles.join(", "),
        });
    }
    // The report roles first: their mappings and grants follow.
    let mut plan = LocalPlan {
        statements: report_roles::plan_report_roles(spec, local)?,
        ..Default::default()
    };
    plan.statements.extend(server::plan_server(spec, local)?);
    plan.statements.extend(mappings::plan_user_mappings(spec, local));
    let types = types::plan_types(spec, remote, local, exposed)?;
    plan.statements.extend(types.before);
    // A LocalSchema that the types step made (types and tables share its name) is not made twice.
    let made_for_types = LocalSchemaState {
        comment: Some(spec.marker.clone()),
        ..Default::default()
    };
    for schema in spec.local_schemas() {
        let state = local
            .schemas
            .get(&schema)
            .or_else(|| types.created_schemas.contains(&schema).then_some(&made_for_types));
        let wanted: Vec<&ExposedTable> = exposed.iter().filter(|t| t.local_schema == schema).collect();
        let imports = imports::plan_schema_imports(spec, &schema, state, &wanted)?;
        let grants = grants::plan_schema_grants(spec, &schema, state, &wanted, &imports);
        plan.imported
            .extend(imports.imported.iter().map(|t| (schema.clone(), t.clone())));
        plan.statements.extend(imports.statements);
        plan.statements.extend(grants);
    }
    // Schemas the link made that are no longer asked for (a renamed LocalSchema):
    // their foreign tables go, and the schema when nothing else is in it.
    let wanted_schemas = spec.local_schemas();
    for (schema, state) in local.schemas.iter().filter(|(name, state)| {
        !wanted_schemas.contains(name)
            && spec.owns(state.comment.as_ref())
            && !types.needed.iter().any(|k| &k.0 == *name)
    }) {
        removal::refuse_dependents(spec, schema, state, "its LocalSchema is no longer asked for")?;
        plan.statements
            .extend(removal::remove_from_schema(spec, schema, state, local));
    }
    plan.statements.extend(types.after);
    plan.statements.extend(registration::plan_registration(spec, local));
    plan.statements.extend(advice::plan_advice(spec, local));
    Ok(plan)
}

/// Who made an object, for errors: another fdw-bridge link, or someone else.
pub(super) fn owner_of(comment: Option<&str>) -> String {
    match comment {
        Some(c) if super::is_managed(Some(c)) => format!("it belongs to another fdw-bridge link: {c}"),
        _ => "it was not made by fdw-bridge".to_string(),
    }
}

/// `SET`/`ADD`/`DROP` clauses that turn `current` options into `wanted`; the
/// value of option `redact`, if named, is shown as `'********'`.
pub(super) fn option_changes(
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

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod whole_plan_tests;
