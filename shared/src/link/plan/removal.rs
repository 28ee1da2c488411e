//! Removing the link from the local cluster: its foreign tables, user
//! mappings, server and the schemas it created, and nothing it did not make.

use super::mappings::mapping_grantee;
use super::report_roles::plan_report_roles_removal;
use super::LinkPlanError;
use crate::link::spec::LinkSpec;
use crate::link::state::LocalState;
use crate::pg::sql::{ident, qualified, Statement};

/// Statements that remove what the link made on the local cluster: its foreign
/// tables, user mappings, server, the schemas it created (when nothing else is
/// in them) and the report roles, last (nothing may depend on them then).
pub fn plan_local_removal(spec: &LinkSpec, local: &LocalState) -> Result<Vec<Statement>, LinkPlanError> {
    let (mut out, kept_schemas) = plan_server_removal(spec, local)?;
    out.extend(plan_report_roles_removal(spec, local, &kept_schemas));
    Ok(out)
}

/// The server and what hangs on it, and the link's local schemas that stay.
fn plan_server_removal(spec: &LinkSpec, local: &LocalState) -> Result<(Vec<Statement>, Vec<String>), LinkPlanError> {
    let mut kept = Vec::new();
    // Already gone, or the name now belongs to something this link did not make.
    if !local.server.as_ref().is_some_and(|s| spec.owns(s.comment.as_ref())) {
        kept.extend(
            spec.local_schemas()
                .into_iter()
                .filter(|s| local.schemas.contains_key(s)),
        );
        return Ok((Vec::new(), kept));
    }
    if !local.server_tables_elsewhere.is_empty() {
        return Err(LinkPlanError::ForeignTablesElsewhere {
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
        } else {
            kept.push(schema);
        }
    }
    for role in local.mappings.keys() {
        out.push(Statement::plain(format!(
            "DROP USER MAPPING IF EXISTS FOR {} SERVER {name}",
            mapping_grantee(role)
        )));
    }
    out.push(Statement::plain(format!("DROP SERVER {name}")));
    Ok((out, kept))
}
