//! Removing the link from the local cluster: its foreign tables, types, user
//! mappings, server, the schemas it created and the report roles, and nothing
//! it did not make.

use super::mappings::mapping_grantee;
use super::report_roles::plan_report_roles_removal;
use super::LinkPlanError;
use crate::spec::LinkSpec;
use crate::state::{LocalSchemaState, LocalState, RemoteState};
use fdw_bridge_pg::sql::{ident, qualified, Statement};

/// Statements that remove what the link made on the local cluster: its foreign
/// tables (in its schemas, old ones included), user mappings, server, the types
/// it made, the schemas it created (when nothing else is in them), and the
/// report roles last (nothing may depend on them then).
pub fn plan_local_removal(spec: &LinkSpec, local: &LocalState) -> Result<Vec<Statement>, LinkPlanError> {
    let server_ours = local.server.as_ref().is_some_and(|s| spec.owns(s.comment.as_ref()));
    let mut out = if server_ours {
        plan_server_removal(spec, local)?
    } else {
        Vec::new()
    };
    // The reader's USAGE goes from the link's schemas that stay.
    let kept: Vec<String> = spec
        .local_schemas()
        .into_iter()
        .filter(|schema| {
            local
                .schemas
                .get(schema)
                .is_some_and(|state| !(server_ours && drops_schema(spec, schema, state, local)))
        })
        .collect();
    // The advice's grants first: a role that holds one cannot be dropped.
    out.extend(super::advice::plan_advice_removal(spec, local));
    out.extend(plan_report_roles_removal(spec, local, &kept));
    out.extend(super::registration::plan_deregistration(spec, local));
    Ok(out)
}

/// The server and what hangs on it (unless it is already gone, or the name now
/// belongs to something this link did not make: then the caller skips this).
fn plan_server_removal(spec: &LinkSpec, local: &LocalState) -> Result<Vec<Statement>, LinkPlanError> {
    if !local.server_tables_elsewhere.is_empty() {
        return Err(LinkPlanError::ForeignTablesElsewhere {
            server: spec.server_name.clone(),
            tables: local.server_tables_elsewhere.join(", "),
        });
    }
    let name = ident(&spec.server_name);
    let mut out = Vec::new();
    for (schema, state) in &local.schemas {
        refuse_dependents(spec, schema, state, "the link is being removed")?;
    }
    for (schema, state) in &local.schemas {
        out.extend(remove_from_schema(spec, schema, state, local));
    }
    // Nothing is exposed any more: every type the link made goes, with its schema.
    out.extend(super::types::plan_types(spec, &RemoteState::default(), local, &[])?.after);
    out.extend(shared_schemas_removal(spec, local));
    for role in local.mappings.keys() {
        out.push(Statement::plain(format!(
            "DROP USER MAPPING IF EXISTS FOR {} SERVER {name}",
            mapping_grantee(role)
        )));
    }
    out.push(Statement::plain(format!("DROP SERVER {name}")));
    Ok(out)
}

/// A LocalSchema named like a remote schema holds both the link's foreign tables
/// and the types it made for them. The imports piece leaves a schema that holds
/// types, the types piece a schema that is a LocalSchema: it goes here, after
/// both, when the link made it and nothing else is in it.
fn shared_schemas_removal(spec: &LinkSpec, local: &LocalState) -> Vec<Statement> {
    let mut out = Vec::new();
    for schema in spec.local_schemas() {
        let Some((comment, objects)) = local.type_schemas.get(&schema) else {
            continue;
        };
        if !spec.owns(comment.as_ref()) {
            continue;
        }
        let tables = local.schemas.get(&schema).map_or(0, |state| {
            state
                .foreign_tables
                .values()
                .filter(|ft| ft.server == spec.server_name)
                .count()
        });
        let types = local
            .types
            .iter()
            .filter(|(key, t)| key.0 == schema && t.comment.as_deref() == Some(spec.role_comment().as_str()))
            .count();
        if types > 0 && *objects <= (tables + types) as i64 {
            out.push(Statement::plain(format!("DROP SCHEMA {}", ident(&schema))));
        }
    }
    out
}

/// Views of the user on the link's foreign tables in `schema` would be dropped
/// with them (or make the DROP fail): refuse first, naming them.
pub(super) fn refuse_dependents(
    spec: &LinkSpec,
    schema: &str,
    state: &LocalSchemaState,
    why: &'static str,
) -> Result<(), LinkPlanError> {
    match state
        .foreign_tables
        .iter()
        .find(|(_, ft)| ft.server == spec.server_name && !ft.dependents.is_empty())
    {
        Some((name, ft)) => Err(LinkPlanError::DependentViews {
            table: format!("{schema}.{name}"),
            views: ft.dependents.join(", "),
            why,
        }),
        None => Ok(()),
    }
}

/// The link's foreign tables in one schema, and the schema itself when the
/// link made it and nothing else is in it. A schema that holds the link's types
/// is left to the types piece, which drops it with its last type.
pub(super) fn remove_from_schema(
    spec: &LinkSpec,
    schema: &str,
    state: &LocalSchemaState,
    local: &LocalState,
) -> Vec<Statement> {
    let mut out = Vec::new();
    let ours: Vec<&String> = state
        .foreign_tables
        .iter()
        .filter(|(_, ft)| ft.server == spec.server_name)
        .map(|(n, _)| n)
        .collect();
    if !ours.is_empty() {
        let names: Vec<String> = ours.iter().map(|n| qualified(schema, n)).collect();
        out.push(Statement::plain(format!("DROP FOREIGN TABLE {}", names.join(", "))));
    }
    if drops_schema(spec, schema, state, local) {
        out.push(Statement::plain(format!("DROP SCHEMA {}", ident(schema))));
    }
    out
}

/// Whether removing the link's tables from `schema` drops the schema too: the
/// link made it and nothing else is in it (a schema that holds the link's types
/// is left to the types piece).
fn drops_schema(spec: &LinkSpec, schema: &str, state: &LocalSchemaState, local: &LocalState) -> bool {
    let ours = state
        .foreign_tables
        .values()
        .filter(|ft| ft.server == spec.server_name)
        .count();
    let only_ours_inside =
        state.other_relations.is_empty() && state.other_objects == 0 && ours == state.foreign_tables.len();
    let holds_types = local.type_schemas.contains_key(schema) && local.types.keys().any(|k| k.0 == schema);
    spec.owns(state.comment.as_ref()) && only_ours_inside && !holds_types
}
