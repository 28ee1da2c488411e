//! fdw-report's roles on the local cluster, made by the link so that reports
//! never run as the master user: the reader logs in with its own secret and
//! may SELECT the foreign tables (as a local role) and the local tables the
//! reports read; the writer owns schema `fdw_reports` and holds nothing else.

use super::{owner_of, LinkPlanError};
use crate::spec::{LinkSpec, LoginRole, ReportRolesSpec};
use crate::state::{LocalState, ReportRolesState};
use fdw_bridge_pg::role::{allow_login, comment_on_role, create_login_role, set_password};
use fdw_bridge_pg::sql::{ident, literal, qualified, Statement};

/// The schema fdw-report stores its runs and results in.
pub(crate) const REPORTS_SCHEMA: &str = "fdw_reports";

/// Statements that make or mend the report roles; run before the mappings and grants.
pub(super) fn plan_report_roles(spec: &LinkSpec, local: &LocalState) -> Result<Vec<Statement>, LinkPlanError> {
    let Some(roles) = &spec.report_roles else {
        return Ok(Vec::new());
    };
    let state = &local.reports;
    if let Some((schema, table)) = roles
        .read_tables
        .iter()
        .find(|t| !state.read_tables_present.contains(*t))
    {
        return Err(LinkPlanError::ReadTableMissing {
            table: format!("{schema}.{table}"),
        });
    }
    let mut out = Vec::new();
    for role in roles.roles() {
        ensure_login_role(spec, role, state, &mut out)?;
    }
    plan_reports_schema(spec, roles, state, &mut out)?;
    let reader = ident(&roles.reader.name);
    let mut usable = state.read_schemas_usable.clone();
    for (schema, table) in &roles.read_tables {
        if usable.insert(schema.clone()) {
            out.push(Statement::plain(format!(
                "GRANT USAGE ON SCHEMA {} TO {reader}",
                ident(schema)
            )));
        }
        if !state.read_tables_granted.contains(&(schema.clone(), table.clone())) {
            out.push(Statement::plain(format!(
                "GRANT SELECT ON TABLE {} TO {reader}",
                qualified(schema, table)
            )));
        }
    }
    Ok(out)
}

/// Makes the role with its secret's password, or mends one the link made; the
/// admin becomes a member so that it may give the role a schema and take it back.
fn ensure_login_role(
    spec: &LinkSpec,
    role: &LoginRole,
    state: &ReportRolesState,
    out: &mut Vec<Statement>,
) -> Result<(), LinkPlanError> {
    let member = || {
        Statement::plain(format!(
            "GRANT {} TO {}",
            ident(&role.name),
            ident(&spec.local_admin_user)
        ))
    };
    match state.roles.get(&role.name) {
        None => {
            out.push(create_login_role(&role.name, Some(role.password.expose())));
            out.push(comment_on_role(&role.name, &spec.marker));
            out.push(member());
        }
        Some(r) if !spec.owns(r.comment.as_ref()) => {
            return Err(LinkPlanError::LocalRoleNotOurs {
                role: role.name.clone(),
                owner: owner_of(r.comment.as_deref()),
            })
        }
        Some(r) => {
            if !r.can_login {
                out.push(allow_login(&role.name));
            }
            if !state.passwords_work.contains(&role.name) {
                out.push(set_password(&role.name, role.password.expose()));
            }
            if !r.admin_is_member {
                out.push(member());
            }
        }
    }
    Ok(())
}

/// `fdw_reports` and its tables, owned by the writer (which may then write
/// there and nowhere else). A schema fdw-report made while it ran as the admin
/// (before the link made report roles) is adopted, its history kept; one that
/// someone else owns is refused, not taken over.
fn plan_reports_schema(
    spec: &LinkSpec,
    roles: &ReportRolesSpec,
    state: &ReportRolesState,
    out: &mut Vec<Statement>,
) -> Result<(), LinkPlanError> {
    let writer = ident(&roles.writer.name);
    let schema = ident(REPORTS_SCHEMA);
    let Some(current) = &state.schema else {
        out.push(Statement::plain(format!(
            "CREATE SCHEMA {schema} AUTHORIZATION {writer}"
        )));
        out.push(Statement::plain(format!(
            "COMMENT ON SCHEMA {schema} IS {}",
            literal(&spec.marker)
        )));
        return Ok(());
    };
    let ours = spec.owns(current.comment.as_ref());
    let adoptable = current.owner == spec.local_admin_user || current.owner == roles.writer.name;
    if !ours && !adoptable {
        return Err(LinkPlanError::ReportsSchemaNotOurs {
            owner: current.owner.clone(),
            writer: roles.writer.name.clone(),
        });
    }
    if !ours {
        out.push(Statement::plain(format!(
            "COMMENT ON SCHEMA {schema} IS {}",
            literal(&spec.marker)
        )));
    }
    if current.owner != roles.writer.name {
        out.push(Statement::plain(format!("ALTER SCHEMA {schema} OWNER TO {writer}")));
    }
    for (table, owner) in &current.tables {
        if owner != &roles.writer.name {
            out.push(Statement::plain(format!(
                "ALTER TABLE {} OWNER TO {writer}",
                qualified(REPORTS_SCHEMA, table)
            )));
        }
    }
    Ok(())
}

/// Removal: the reader's grants on the tables the reports read are revoked and
/// the roles dropped; what the writer owns (the report history in
/// `fdw_reports`) is handed to the admin, never dropped.
/// `kept_schemas`: the link's local schemas that stay, where the reader's USAGE is revoked.
pub(super) fn plan_report_roles_removal(
    spec: &LinkSpec,
    local: &LocalState,
    kept_schemas: &[String],
) -> Vec<Statement> {
    let Some(roles) = &spec.report_roles else {
        return Vec::new();
    };
    let state = &local.reports;
    let ours = |role: &LoginRole| {
        state
            .roles
            .get(&role.name)
            .is_some_and(|r| spec.owns(r.comment.as_ref()))
    };
    let mut out = Vec::new();
    if ours(&roles.reader) {
        let reader = ident(&roles.reader.name);
        for (schema, table) in roles
            .read_tables
            .iter()
            .filter(|t| state.read_tables_granted.contains(*t))
        {
            out.push(Statement::plain(format!(
                "REVOKE SELECT ON TABLE {} FROM {reader}",
                qualified(schema, table)
            )));
        }
        let schemas: std::collections::BTreeSet<&String> =
            state.read_schemas_usable.iter().chain(kept_schemas).collect();
        for schema in schemas {
            out.push(Statement::plain(format!(
                "REVOKE USAGE ON SCHEMA {} FROM {reader}",
                ident(schema)
            )));
        }
        out.push(Statement::plain(format!("DROP ROLE {reader}")));
    }
    if ours(&roles.writer) {
        let writer = ident(&roles.writer.name);
        out.push(Statement::plain(format!("REASSIGN OWNED BY {writer} TO CURRENT_USER")));
        out.push(Statement::plain(format!("DROP ROLE {writer}")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{local_converged, shown, spec};
    use super::*;
    use crate::spec::Password;
    use crate::state::{LocalRoleState, ReportsSchemaState};

    fn with_report_roles() -> LinkSpec {
        let mut s = spec();
        s.report_roles = Some(ReportRolesSpec {
            reader: LoginRole {
                name: "fdw_report_reader".into(),
                password: Password("r'pw".into()),
            },
            writer: LoginRole {
                name: "fdw_report_writer".into(),
                password: Password("w-pw".into()),
            },
            read_tables: vec![("public".into(), "users".into())],
        });
        s
    }

    fn fresh_state() -> LocalState {
        let mut local = local_converged();
        local
            .reports
            .read_tables_present
            .insert(("public".into(), "users".into()));
        local
    }

    /// Both roles made by the link, their passwords working.
    fn roles_made(spec: &LinkSpec) -> LocalState {
        let mut local = fresh_state();
        for name in ["fdw_report_reader", "fdw_report_writer"] {
            local.reports.roles.insert(
                name.into(),
                LocalRoleState {
                    can_login: true,
                    comment: Some(spec.marker.clone()),
                    admin_is_member: true,
                },
            );
            local.reports.passwords_work.insert(name.into());
        }
        local
    }

    #[test]
    fn fresh_cluster_gets_both_roles_the_schema_and_the_reader_grants() {
        let plan = plan_report_roles(&with_report_roles(), &fresh_state()).unwrap();
        assert_eq!(
            shown(&plan),
            [
                "CREATE ROLE \"fdw_report_reader\" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD '********'",
                "COMMENT ON ROLE \"fdw_report_reader\" IS 'managed by fdw-bridge: test'",
                "GRANT \"fdw_report_reader\" TO \"users_admin\"",
                "CREATE ROLE \"fdw_report_writer\" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD '********'",
                "COMMENT ON ROLE \"fdw_report_writer\" IS 'managed by fdw-bridge: test'",
                "GRANT \"fdw_report_writer\" TO \"users_admin\"",
                "CREATE SCHEMA \"fdw_reports\" AUTHORIZATION \"fdw_report_writer\"",
                "COMMENT ON SCHEMA \"fdw_reports\" IS 'managed by fdw-bridge: test'",
                "GRANT USAGE ON SCHEMA \"public\" TO \"fdw_report_reader\"",
                "GRANT SELECT ON TABLE \"public\".\"users\" TO \"fdw_report_reader\"",
            ]
        );
        assert!(plan[0].sql().contains("PASSWORD 'r''pw'"));
    }

    #[test]
    fn converged_roles_plan_nothing_and_a_stale_password_is_set() {
        let spec = with_report_roles();
        let mut local = roles_made(&spec);
        local.reports.schema = Some(ReportsSchemaState {
            owner: "fdw_report_writer".into(),
            comment: Some(spec.marker.clone()),
            tables: [("runs".to_string(), "fdw_report_writer".to_string())].into(),
        });
        local
            .reports
            .read_tables_granted
            .insert(("public".into(), "users".into()));
        local.reports.read_schemas_usable.insert("public".into());
        assert!(plan_report_roles(&spec, &local).unwrap().is_empty());

        local.reports.passwords_work.remove("fdw_report_writer");
        assert_eq!(
            shown(&plan_report_roles(&spec, &local).unwrap()),
            ["ALTER ROLE \"fdw_report_writer\" PASSWORD '********'"]
        );
    }

    #[test]
    fn refusals_name_the_role_the_schema_and_the_table() {
        let spec = with_report_roles();
        let mut local = fresh_state();
        local
            .reports
            .roles
            .insert("fdw_report_reader".into(), LocalRoleState::default());
        assert!(matches!(
            plan_report_roles(&spec, &local),
            Err(LinkPlanError::LocalRoleNotOurs { .. })
        ));
        let mut local = fresh_state();
        local.reports.schema = Some(ReportsSchemaState {
            owner: "someone".into(),
            ..Default::default()
        });
        assert!(matches!(
            plan_report_roles(&spec, &local),
            Err(LinkPlanError::ReportsSchemaNotOurs { .. })
        ));
        let mut local = fresh_state();
        local.reports.read_tables_present.clear();
        let e = plan_report_roles(&spec, &local).unwrap_err().to_string();
        assert!(e.contains("public.users"), "{e}");
    }

    #[test]
    fn a_schema_fdw_report_made_as_the_admin_is_adopted_with_its_history() {
        let spec = with_report_roles();
        let mut local = fresh_state();
        local.reports.schema = Some(ReportsSchemaState {
            owner: "users_admin".into(),
            comment: None,
            tables: [
                ("results".to_string(), "users_admin".to_string()),
                ("runs".to_string(), "users_admin".to_string()),
            ]
            .into(),
        });
        let plan = shown(&plan_report_roles(&spec, &local).unwrap());
        let schema_part: Vec<&String> = plan.iter().filter(|s| s.contains("fdw_reports")).collect();
        assert_eq!(
            schema_part,
            [
                "COMMENT ON SCHEMA \"fdw_reports\" IS 'managed by fdw-bridge: test'",
                "ALTER SCHEMA \"fdw_reports\" OWNER TO \"fdw_report_writer\"",
                "ALTER TABLE \"fdw_reports\".\"results\" OWNER TO \"fdw_report_writer\"",
                "ALTER TABLE \"fdw_reports\".\"runs\" OWNER TO \"fdw_report_writer\"",
            ]
        );
    }

    #[test]
    fn removal_keeps_the_report_history() {
        let spec = with_report_roles();
        let mut local = roles_made(&spec);
        local
            .reports
            .read_tables_granted
            .insert(("public".into(), "users".into()));
        local.reports.read_schemas_usable.insert("public".into());
        assert_eq!(
            shown(&plan_report_roles_removal(&spec, &local, &[])),
            [
                "REVOKE SELECT ON TABLE \"public\".\"users\" FROM \"fdw_report_reader\"",
                "REVOKE USAGE ON SCHEMA \"public\" FROM \"fdw_report_reader\"",
                "DROP ROLE \"fdw_report_reader\"",
                "REASSIGN OWNED BY \"fdw_report_writer\" TO CURRENT_USER",
                "DROP ROLE \"fdw_report_writer\"",
            ]
        );
    }
}
