//! Removing the link from the local cluster: its foreign tables, types, user
//! mappings, server and the schemas it created, and nothing it did not make.

use super::mappings::mapping_grantee;
use super::LinkPlanError;
use crate::link::spec::LinkSpec;
use crate::link::state::{LocalSchemaState, LocalState, RemoteState};
use crate::pg::sql::{ident, qualified, Statement};

/// Statements that remove what the link made on the local cluster: its foreign
/// tables (in its schemas, old ones included), user mappings, server, the types
/// it made and the schemas it created (when nothing else is in them).
pub fn plan_local_removal(spec: &LinkSpec, local: &LocalState) -> Result<Vec<Statement>, LinkPlanError> {
    // Already gone, or the name now belongs to something this link did not make.
    if !local.server.as_ref().is_some_and(|s| spec.owns(s.comment.as_ref())) {
        return Ok(Vec::new());
    }
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
    for role in local.mappings.keys() {
        out.push(Statement::plain(format!(
            "DROP USER MAPPING IF EXISTS FOR {} SERVER {name}",
            mapping_grantee(role)
        )));
    }
    out.push(Statement::plain(format!("DROP SERVER {name}")));
    Ok(out)
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
    let only_ours_inside =
        state.other_relations.is_empty() && state.other_objects == 0 && ours.len() == state.foreign_tables.len();
    let holds_types = local.type_schemas.contains_key(schema) && local.types.keys().any(|k| k.0 == schema);
    if spec.owns(state.comment.as_ref()) && only_ours_inside && !holds_types {
        out.push(Statement::plain(format!("DROP SCHEMA {}", ident(schema))));
    }
    out
}
