//! Who may read one local schema's foreign tables: USAGE on the schema and
//! SELECT on its tables for the local roles, revoked from anyone else the link
//! granted (never from the admin, which owns them).

use super::imports::SchemaImports;
use super::ExposedTable;
use crate::spec::LinkSpec;
use crate::state::LocalSchemaState;
use fdw_bridge_pg::sql::{ident, qualified, Statement};
use std::collections::BTreeSet;

pub(super) fn plan_schema_grants(
    spec: &LinkSpec,
    schema: &str,
    state: Option<&LocalSchemaState>,
    wanted: &[&ExposedTable],
    imports: &SchemaImports,
) -> Vec<Statement> {
    let mut out = Vec::new();
    let readers: BTreeSet<&String> = spec.local_roles.iter().collect();
    let usage: BTreeSet<String> = state.map(|s| s.usage.clone()).unwrap_or_default();
    let not_ours = |r: &&String| !readers.contains(r) && *r != &spec.local_admin_user;
    // Where every role may already use the schema (PUBLIC holds USAGE, as on
    // `public`), a grant of the link's own would outlive it: none is made.
    let public_usage = state.is_some_and(|s| s.public_usage);
    for role in readers.iter().filter(|r| !usage.contains(**r) && !public_usage) {
        out.push(Statement::plain(format!(
            "GRANT USAGE ON SCHEMA {} TO {}",
            ident(schema),
            ident(role)
        )));
    }
    // Only in a schema the link made: a schema someone else made keeps its grants.
    if state.is_some_and(|s| spec.owns(s.comment.as_ref())) {
        for role in usage.iter().filter(not_ours) {
            out.push(Statement::plain(format!(
                "REVOKE USAGE ON SCHEMA {} FROM {}",
                ident(schema),
                ident(role)
            )));
        }
    }
    let current_readers = |table: &str| state.and_then(|s| s.foreign_tables.get(table)).map(|ft| &ft.readers);
    for role in &readers {
        let lacking: Vec<String> = wanted
            .iter()
            .filter(|t| {
                imports.imported.contains(&t.name) || !current_readers(&t.name).is_some_and(|r| r.contains(*role))
            })
            .map(|t| qualified(schema, &t.name))
            .collect();
        if !lacking.is_empty() {
            out.push(Statement::plain(format!(
                "GRANT SELECT ON TABLE {} TO {}",
                lacking.join(", "),
                ident(role)
            )));
        }
    }
    for t in wanted.iter().filter(|t| !imports.dropped.contains(&t.name)) {
        for r in current_readers(&t.name).into_iter().flatten().filter(not_ours) {
            out.push(Statement::plain(format!(
                "REVOKE SELECT ON TABLE {} FROM {}",
                qualified(schema, &t.name),
                ident(r)
            )));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{col, local_converged, shown, spec};
    use super::*;

    fn orders() -> ExposedTable {
        ExposedTable {
            remote_schema: "public".into(),
            local_schema: "orders_remote".into(),
            name: "orders".into(),
            columns: vec![col("id", "bigint"), col("amount", "numeric(12,2)")],
        }
    }

    #[test]
    fn new_tables_are_granted_to_every_local_role() {
        let imports = SchemaImports {
            imported: vec!["orders".into()],
            ..Default::default()
        };
        assert_eq!(
            shown(&plan_schema_grants(
                &spec(),
                "orders_remote",
                None,
                &[&orders()],
                &imports
            )),
            [
                "GRANT USAGE ON SCHEMA \"orders_remote\" TO \"report_reader\"",
                "GRANT SELECT ON TABLE \"orders_remote\".\"orders\" TO \"report_reader\"",
            ]
        );
    }

    #[test]
    fn a_role_no_longer_listed_loses_usage_and_select_but_the_admin_keeps_them() {
        let mut local = local_converged();
        if let Some(s) = local.schemas.get_mut("orders_remote") {
            s.usage.extend(["old_role".to_string(), "users_admin".to_string()]);
            if let Some(ft) = s.foreign_tables.get_mut("orders") {
                ft.readers.extend(["old_role".to_string(), "users_admin".to_string()]);
            }
        }
        let state = local.schemas.get("orders_remote");
        assert_eq!(
            shown(&plan_schema_grants(
                &spec(),
                "orders_remote",
                state,
                &[&orders()],
                &SchemaImports::default()
            )),
            [
                "REVOKE USAGE ON SCHEMA \"orders_remote\" FROM \"old_role\"",
                "REVOKE SELECT ON TABLE \"orders_remote\".\"orders\" FROM \"old_role\"",
            ]
        );
    }
}
