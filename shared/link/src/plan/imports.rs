//! One local schema's foreign tables: create the schema when missing, refuse
//! names taken by something else, drop what changed or is no longer wanted,
//! and IMPORT FOREIGN SCHEMA what is missing.

use super::{ExposedTable, LinkPlanError};
use crate::spec::LinkSpec;
use crate::state::LocalSchemaState;
use fdw_bridge_pg::sql::{ident, literal, qualified, Statement};
use std::collections::BTreeMap;

/// What the import piece decided for one local schema.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct SchemaImports {
    pub statements: Vec<Statement>,
    /// Foreign tables dropped (no longer wanted, or their remote columns changed).
    pub dropped: Vec<String>,
    /// Foreign tables (re)imported by this plan.
    pub imported: Vec<String>,
}

/// `wanted`: the exposed tables that land in `schema`; `state`: the schema as it is, if it exists.
pub(super) fn plan_schema_imports(
    spec: &LinkSpec,
    schema: &str,
    state: Option<&LocalSchemaState>,
    wanted: &[&ExposedTable],
) -> Result<SchemaImports, LinkPlanError> {
    let server = ident(&spec.server_name);
    let mut plan = SchemaImports::default();
    let Some(state) = state else {
        plan.statements
            .push(Statement::plain(format!("CREATE SCHEMA {}", ident(schema))));
        plan.statements.push(Statement::plain(format!(
            "COMMENT ON SCHEMA {} IS {}",
            ident(schema),
            literal(&spec.marker)
        )));
        plan.imported = wanted.iter().map(|t| t.name.clone()).collect();
        plan.statements
            .extend(import_statements(&server, schema, wanted.iter().copied()));
        return Ok(plan);
    };
    for t in wanted {
        let taken = state.other_relations.contains(&t.name)
            || state
                .foreign_tables
                .get(&t.name)
                .is_some_and(|ft| ft.server != spec.server_name);
        if taken {
            return Err(LinkPlanError::LocalNameTaken {
                schema: schema.to_string(),
                table: t.name.clone(),
                server: spec.server_name.clone(),
            });
        }
    }
    for (name, ft) in state
        .foreign_tables
        .iter()
        .filter(|(_, ft)| ft.server == spec.server_name)
    {
        match wanted.iter().find(|t| &t.name == name) {
            Some(t) if t.columns == ft.columns => {}
            _ => plan.dropped.push(name.clone()),
        }
    }
    // Dropping a foreign table would take the user's views with it (or fail):
    // refuse before anything is changed, naming them.
    for name in &plan.dropped {
        if let Some(ft) = state.foreign_tables.get(name).filter(|ft| !ft.dependents.is_empty()) {
            return Err(LinkPlanError::DependentViews {
                table: format!("{schema}.{name}"),
                views: ft.dependents.join(", "),
                why: if wanted.iter().any(|t| &t.name == name) {
                    "its remote columns changed, so it must be imported again"
                } else {
                    "it is no longer exposed"
                },
            });
        }
    }
    if !plan.dropped.is_empty() {
        let names: Vec<String> = plan.dropped.iter().map(|n| qualified(schema, n)).collect();
        plan.statements
            .push(Statement::plain(format!("DROP FOREIGN TABLE {}", names.join(", "))));
    }
    let missing: Vec<&ExposedTable> = wanted
        .iter()
        .copied()
        .filter(|t| !state.foreign_tables.contains_key(&t.name) || plan.dropped.contains(&t.name))
        .collect();
    plan.imported = missing.iter().map(|t| t.name.clone()).collect();
    plan.statements
        .extend(import_statements(&server, schema, missing.into_iter()));
    Ok(plan)
}

/// One IMPORT FOREIGN SCHEMA per remote schema, limited to the tables given.
fn import_statements<'a>(server: &str, schema: &str, tables: impl Iterator<Item = &'a ExposedTable>) -> Vec<Statement> {
    let mut by_remote: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for t in tables {
        by_remote.entry(&t.remote_schema).or_default().push(ident(&t.name));
    }
    by_remote
        .into_iter()
        .map(|(remote_schema, list)| {
            Statement::plain(format!(
                "IMPORT FOREIGN SCHEMA {} LIMIT TO ({}) FROM SERVER {server} INTO {}",
                ident(remote_schema),
                list.join(", "),
                ident(schema)
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{col, local_converged, shown, spec};
    use super::*;

    fn exposed(name: &str, columns: Vec<crate::state::Column>) -> ExposedTable {
        ExposedTable {
            remote_schema: "public".into(),
            local_schema: "orders_remote".into(),
            name: name.into(),
            columns,
        }
    }

    #[test]
    fn a_new_schema_is_made_marked_and_filled() {
        let t = exposed("orders", vec![col("id", "bigint")]);
        let plan = plan_schema_imports(&spec(), "orders_remote", None, &[&t]).unwrap();
        assert_eq!(
            shown(&plan.statements),
            [
                "CREATE SCHEMA \"orders_remote\"",
                "COMMENT ON SCHEMA \"orders_remote\" IS 'managed by fdw-bridge: test'",
                "IMPORT FOREIGN SCHEMA \"public\" LIMIT TO (\"orders\") FROM SERVER \"orders_link\" INTO \"orders_remote\"",
            ]
        );
        assert_eq!(plan.imported, ["orders"]);
    }

    #[test]
    fn changed_columns_are_dropped_and_imported_again() {
        let local = local_converged();
        let state = &local.schemas["orders_remote"];
        let same = exposed("orders", vec![col("id", "bigint"), col("amount", "numeric(12,2)")]);
        assert_eq!(
            plan_schema_imports(&spec(), "orders_remote", Some(state), &[&same]).unwrap(),
            SchemaImports::default()
        );
        let changed = exposed("orders", vec![col("id", "bigint")]);
        let plan = plan_schema_imports(&spec(), "orders_remote", Some(state), &[&changed]).unwrap();
        assert_eq!(plan.dropped, ["orders"]);
        assert_eq!(plan.imported, ["orders"]);
        assert_eq!(
            plan.statements[0].shown(),
            "DROP FOREIGN TABLE \"orders_remote\".\"orders\""
        );
    }

    #[test]
    fn a_name_taken_by_a_local_table_is_refused() {
        let mut local = local_converged();
        let state = local.schemas.get_mut("orders_remote").map(|s| {
            s.other_relations.insert("items".into());
            &*s
        });
        let t = exposed("items", vec![]);
        assert!(matches!(
            plan_schema_imports(&spec(), "orders_remote", state, &[&t]),
            Err(LinkPlanError::LocalNameTaken { .. })
        ));
    }
}
