//! The link's row in the registry (`fdw_bridge.links`): written when it
//! differs from what the link is now, deleted with the link; the table and
//! its schema go with the last row.

use crate::registry::{registry_table, REGISTRY_COMMENT, REGISTRY_SCHEMA};
use crate::spec::LinkSpec;
use crate::state::{LocalState, StoredLink};
use fdw_bridge_pg::sql::{ident, literal, Statement};

/// The row this link should have, when it stores one.
fn wanted_row(spec: &LinkSpec) -> Option<StoredLink> {
    let registration = spec.registration.as_ref()?;
    Some(StoredLink {
        server_name: spec.server_name.clone(),
        link_id: spec.link_id.clone(),
        stack_id: registration.stack_id.clone(),
        logical_resource_id: registration.logical_resource_id.clone(),
        properties: registration.properties.clone(),
    })
}

/// Makes the registry when it is missing and writes the link's row when it
/// differs (an unchanged link writes nothing, so a refresh stays read-only here).
pub(super) fn plan_registration(spec: &LinkSpec, local: &LocalState) -> Vec<Statement> {
    let Some(wanted) = wanted_row(spec) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let table = registry_table();
    match &local.registry {
        Some(registry) if registry.links.get(&spec.server_name) == Some(&wanted) => return out,
        Some(_) => {}
        None => {
            let schema = ident(REGISTRY_SCHEMA);
            out.push(Statement::plain(format!("CREATE SCHEMA IF NOT EXISTS {schema}")));
            out.push(Statement::plain(format!(
                "COMMENT ON SCHEMA {schema} IS {}",
                literal(REGISTRY_COMMENT)
            )));
            // IF NOT EXISTS: another link's run may have made it since this one read the catalog.
            out.push(Statement::plain(format!(
                "CREATE TABLE IF NOT EXISTS {table} (server_name text PRIMARY KEY, link_id text NOT NULL, stack_id text NOT NULL, \
                 logical_resource_id text NOT NULL, properties jsonb NOT NULL, stored_at timestamptz NOT NULL DEFAULT now())"
            )));
            out.push(Statement::plain(format!(
                "COMMENT ON TABLE {table} IS {}",
                literal(REGISTRY_COMMENT)
            )));
        }
    }
    out.push(Statement::plain(format!(
        "INSERT INTO {table} (server_name, link_id, stack_id, logical_resource_id, properties) \
         VALUES ({}, {}, {}, {}, {}::jsonb) \
         ON CONFLICT (server_name) DO UPDATE SET link_id = EXCLUDED.link_id, stack_id = EXCLUDED.stack_id, \
         logical_resource_id = EXCLUDED.logical_resource_id, properties = EXCLUDED.properties, stored_at = now()",
        literal(&wanted.server_name),
        literal(&wanted.link_id),
        literal(&wanted.stack_id),
        literal(&wanted.logical_resource_id),
        literal(&wanted.properties.to_string()),
    )));
    out
}

/// Deletes the link's row (only when this identity wrote it: after a
/// replacement under the same ServerName the row is the new link's), and the
/// registry with its last row when nothing else was put in its schema.
pub(super) fn plan_deregistration(spec: &LinkSpec, local: &LocalState) -> Vec<Statement> {
    let Some(registry) = &local.registry else {
        return Vec::new();
    };
    let Some(row) = registry.links.get(&spec.server_name) else {
        return Vec::new();
    };
    if row.link_id != spec.link_id {
        return Vec::new();
    }
    let table = registry_table();
    let mut out = vec![Statement::plain(format!(
        "DELETE FROM {table} WHERE server_name = {} AND link_id = {}",
        literal(&row.server_name),
        literal(&row.link_id)
    ))];
    let ours = registry.schema_comment.as_deref() == Some(REGISTRY_COMMENT);
    if ours && registry.other_objects == 0 {
        // Decided when it runs, under fdw-bridge's advisory lock: another link
        // may have added or removed its row since this run read the catalog.
        // The schema stays when someone put something else in it.
        // The query advice goes with the last row too (before the schema it sits in).
        out.push(Statement::plain(format!(
            "DO $registry$ BEGIN IF NOT EXISTS (SELECT 1 FROM {table}) THEN DROP TABLE {table}; \
             DROP FUNCTION IF EXISTS {}; \
             BEGIN DROP SCHEMA {}; EXCEPTION WHEN dependent_objects_still_exist THEN NULL; END; \
             END IF; END $registry$",
            super::advice::all_signatures(),
            ident(REGISTRY_SCHEMA)
        )));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::fixtures::{local_converged, spec};
    use crate::spec::Registration;
    use crate::state::RegistryState;

    fn registered() -> LinkSpec {
        let mut s = spec();
        s.registration = Some(Registration {
            stack_id: "arn:stack/one".into(),
            logical_resource_id: "FdwLink".into(),
            properties: serde_json::json!({"ServerName": "orders_link", "x": "it's"}),
        });
        s
    }

    fn registry_with(rows: Vec<StoredLink>) -> RegistryState {
        RegistryState {
            schema_comment: Some(REGISTRY_COMMENT.into()),
            other_objects: 0,
            links: rows.into_iter().map(|r| (r.server_name.clone(), r)).collect(),
        }
    }

    #[test]
    fn first_run_makes_the_registry_and_the_row_with_quoted_values() {
        let s = registered();
        let sql: Vec<String> = plan_registration(&s, &local_converged())
            .iter()
            .map(|st| st.sql().to_string())
            .collect();
        assert_eq!(sql.len(), 5, "{sql:#?}");
        assert!(sql[0].starts_with("CREATE SCHEMA IF NOT EXISTS \"fdw_bridge\""));
        assert!(sql[2].starts_with("CREATE TABLE IF NOT EXISTS \"fdw_bridge\".\"links\""));
        assert!(
            sql[4].contains("'{\"ServerName\":\"orders_link\",\"x\":\"it''s\"}'::jsonb"),
            "{}",
            sql[4]
        );
    }

    #[test]
    fn an_unchanged_row_is_not_written_and_a_changed_one_is() {
        let s = registered();
        let mut local = local_converged();
        local.registry = Some(registry_with(vec![wanted_row(&s).unwrap()]));
        assert!(plan_registration(&s, &local).is_empty());

        let mut changed = wanted_row(&s).unwrap();
        changed.properties = serde_json::json!({"ServerName": "orders_link"});
        local.registry = Some(registry_with(vec![changed]));
        let plan = plan_registration(&s, &local);
        assert_eq!(plan.len(), 1);
        assert!(plan[0].sql().starts_with("INSERT INTO \"fdw_bridge\".\"links\""));
    }

    #[test]
    fn no_registration_stores_nothing() {
        let s = spec();
        assert!(plan_registration(&s, &local_converged()).is_empty());
    }

    #[test]
    fn removal_deletes_only_its_own_row_and_the_registry_with_the_last_one() {
        let s = registered();
        let mine = wanted_row(&s).unwrap();
        let mut other = mine.clone();
        other.server_name = "billing_link".into();
        other.link_id = "fdw-link/x/users/billing_link".into();
        let mut local = local_converged();

        local.registry = Some(registry_with(vec![mine.clone(), other]));
        let sql: Vec<String> = plan_deregistration(&s, &local)
            .iter()
            .map(|st| st.sql().to_string())
            .collect();
        assert!(sql[0].starts_with("DELETE FROM \"fdw_bridge\".\"links\" WHERE server_name = 'orders_link'"));
        // The registry goes with its last row, whichever link's run that is.
        assert!(
            sql[1].contains("IF NOT EXISTS (SELECT 1 FROM \"fdw_bridge\".\"links\") THEN DROP TABLE"),
            "{sql:?}"
        );
        assert!(sql[1].contains("DROP SCHEMA \"fdw_bridge\""), "{sql:?}");
        assert!(
            sql[1].contains("DROP FUNCTION IF EXISTS \"fdw_bridge\".\"advise_close\"(text, integer)"),
            "{sql:?}"
        );

        // Something else in the schema: it stays.
        let mut crowded = registry_with(vec![mine.clone()]);
        crowded.other_objects = 1;
        local.registry = Some(crowded);
        assert_eq!(plan_deregistration(&s, &local).len(), 1);

        // A replacement under the same ServerName wrote the row: not ours to delete.
        let mut replaced = mine;
        replaced.link_id = "fdw-link/elsewhere/users/orders_link".into();
        local.registry = Some(registry_with(vec![replaced]));
        assert!(plan_deregistration(&s, &local).is_empty());
    }
}
