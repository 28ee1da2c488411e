//! The remote cluster's side of the link: the least-privilege FDW role (and
//! rotation's clone), its SELECT-only grants, and their removal.

use super::{owner_of, ExposedTable, LinkPlanError};
use crate::spec::{LinkSpec, Password};
use crate::state::{RemoteState, RoleState};
use fdw_bridge_pg::role::{
    allow_login, clone_role_name, comment_on_role, create_login_role, grant_connect, grant_membership,
    set_connection_limit, set_password,
};
use fdw_bridge_pg::sql::{ident, qualified, Statement};
use std::collections::BTreeSet;

/// Statements for the remote cluster: the FDW role and its SELECT-only grants.
pub fn plan_remote(
    spec: &LinkSpec,
    remote: &RemoteState,
    exposed: &[ExposedTable],
) -> Result<Vec<Statement>, LinkPlanError> {
    if spec.fdw_user == spec.remote_admin_user {
        return Err(LinkPlanError::FdwRoleIsAdmin {
            role: spec.fdw_user.clone(),
        });
    }
    let role = ident(&spec.fdw_user);
    let mut out = Vec::new();
    let as_clone = spec.logs_in_as_clone();
    // The base role holds the grants; it carries the password unless rotation
    // has switched the mappings to its clone.
    let base_password = (!as_clone).then_some((&spec.fdw_password, remote.fdw_password_works));
    let limit = connection_limit(spec, remote.connection_budget);
    ensure_role(spec, &spec.fdw_user, remote.fdw_role.as_ref(), base_password, &mut out)?;
    align_connection_limit(&spec.fdw_user, remote.fdw_role.as_ref(), limit, &mut out);
    if as_clone {
        let created = remote.clone_role.is_none();
        ensure_role(
            spec,
            &spec.login_user,
            remote.clone_role.as_ref(),
            Some((&spec.fdw_password, remote.fdw_password_works)),
            &mut out,
        )?;
        align_connection_limit(&spec.login_user, remote.clone_role.as_ref(), limit, &mut out);
        if created {
            // As rotation makes it: a member of the base role, so it reads what the base role may.
            out.push(grant_membership(&spec.fdw_user, &spec.login_user));
            out.push(grant_connect(&spec.remote_database, &spec.login_user));
        }
    } else if let Some(clone) = remote.clone_role.as_ref().filter(|c| spec.owns(c.comment.as_ref())) {
        // A clone left by rotation follows the base role's hand-over and budget.
        let clone_name = clone_role_name(&spec.fdw_user);
        hand_over(spec, &clone_name, clone, &mut out);
        align_connection_limit(&clone_name, Some(clone), limit, &mut out);
    }
    let empty = RoleState::default();
    let current = remote.fdw_role.as_ref().unwrap_or(&empty);
    let grants = &current.grants;

    if !grants.databases.contains(&spec.remote_database) {
        out.push(grant_connect(&spec.remote_database, &spec.fdw_user));
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

/// The CONNECTION LIMIT the link wants for its FDW role (and clone) with the
/// remote cluster holding `budget` ordinary connections now: FdwConnectionLimit,
/// else the default share of `budget`.
pub(crate) fn connection_limit(spec: &LinkSpec, budget: u32) -> u32 {
    spec.fdw_connection_limit
        .unwrap_or_else(|| default_connection_limit(budget))
}

/// Only the CONNECTION LIMIT statements [`plan_remote`] would make, for the
/// link's roles that exist and are its own: what a refresh applies first, so
/// that the budget follows a remote cluster restarted with fewer connections
/// before the rest of the link's work (IMPORT, ANALYZE) runs, or fails.
pub fn plan_connection_limits(
    spec: &LinkSpec,
    budget: u32,
    fdw_role: Option<&RoleState>,
    clone_role: Option<&RoleState>,
) -> Vec<Statement> {
    let limit = connection_limit(spec, budget);
    let mut out = Vec::new();
    if let Some(role) = fdw_role.filter(|r| spec.owns(r.comment.as_ref())) {
        align_connection_limit(&spec.fdw_user, Some(role), limit, &mut out);
    }
    if let Some(clone) = clone_role.filter(|c| spec.owns(c.comment.as_ref())) {
        align_connection_limit(&clone_role_name(&spec.fdw_user), Some(clone), limit, &mut out);
    }
    out
}

pub(crate) use fdw_bridge_pg::role::default_connection_limit;

/// Sets the role's connection limit when it is new or differs.
fn align_connection_limit(name: &str, state: Option<&RoleState>, limit: u32, out: &mut Vec<Statement>) {
    if state.is_none_or(|r| i64::from(r.connection_limit) != i64::from(limit)) {
        out.push(set_connection_limit(name, limit));
    }
}

/// Creates `name` when missing (with the password, if it carries it), refuses
/// a role this link did not make, and otherwise hands it over, lets it log in
/// and sets the password when the secret's no longer works.
fn ensure_role(
    spec: &LinkSpec,
    name: &str,
    state: Option<&RoleState>,
    password: Option<(&Password, bool)>,
    out: &mut Vec<Statement>,
) -> Result<(), LinkPlanError> {
    match state {
        None => {
            out.push(create_login_role(name, password.map(|(pw, _)| pw.expose())));
            out.push(comment_on_role(name, &spec.role_comment()));
        }
        Some(r) if !spec.owns(r.comment.as_ref()) => {
            return Err(LinkPlanError::RemoteRoleNotOurs {
                role: name.to_string(),
                owner: owner_of(r.comment.as_deref()),
            })
        }
        Some(r) => {
            hand_over(spec, name, r, out);
            if !r.can_login {
                out.push(allow_login(name));
            }
            if let Some((pw, false)) = password {
                out.push(set_password(name, pw.expose()));
            }
        }
    }
    Ok(())
}

/// A replacement hands a role over from the old identity to this one, so that
/// the old identity's Delete leaves it alone.
fn hand_over(spec: &LinkSpec, name: &str, state: &RoleState, out: &mut Vec<Statement>) {
    if state.comment.as_deref() != Some(spec.role_comment().as_str()) {
        out.push(comment_on_role(name, &spec.role_comment()));
    }
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
