//! User mappings on the local cluster: every mapped role (the admin and the
//! local roles) logs in to the remote cluster as the secret's user.

use crate::spec::LinkSpec;
use crate::state::LocalState;
use fdw_bridge_pg::role::create_user_mapping;
use fdw_bridge_pg::sql::{ident, Statement};
use std::collections::BTreeMap;

use super::option_changes;

/// How a mapping's role is written in SQL: "public" is the PUBLIC mapping,
/// which has no quoted form.
pub(super) fn mapping_grantee(role: &str) -> String {
    if role == "public" {
        "PUBLIC".to_string()
    } else {
        ident(role)
    }
}

pub(super) fn plan_user_mappings(spec: &LinkSpec, local: &LocalState) -> Vec<Statement> {
    let server = ident(&spec.server_name);
    let mut out = Vec::new();
    let wanted_mapping: BTreeMap<String, String> = [
        ("user".to_string(), spec.login_user.clone()),
        ("password".to_string(), spec.fdw_password.expose().to_string()),
    ]
    .into();
    let mapped = spec.mapped_roles();
    // A non-superuser reads only its own mapping's options: the admin's stands for the rest.
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
            None => out.push(create_mapping(&who)),
            Some(current) => {
                let changes = option_changes(current, &wanted_mapping, None);
                if !changes.is_empty() {
                    let shown = option_changes(current, &wanted_mapping, Some("password"));
                    let alter = |changes: &[String]| {
                        format!(
                            "ALTER USER MAPPING FOR {who} SERVER {server} OPTIONS ({})",
                            changes.join(", ")
                        )
                    };
                    out.push(Statement::secret(alter(&changes), alter(&shown)));
                }
            }
        }
    }
    for role in local.mappings.keys().filter(|r| !mapped.contains(r)) {
        out.push(Statement::plain(format!(
            "DROP USER MAPPING IF EXISTS FOR {} SERVER {server}",
            mapping_grantee(role)
        )));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{local_converged, shown, spec};
    use super::*;

    #[test]
    fn missing_mappings_are_created_redacted() {
        let plan = plan_user_mappings(&spec(), &LocalState::default());
        assert_eq!(
            shown(&plan),
            [
                "CREATE USER MAPPING FOR \"users_admin\" SERVER \"orders_link\" OPTIONS (user 'fdw_orders', password '********')",
                "CREATE USER MAPPING FOR \"report_reader\" SERVER \"orders_link\" OPTIONS (user 'fdw_orders', password '********')",
            ]
        );
        assert!(plan[0].sql().contains(r"password  E's3cr''et\\pw'"));
    }

    #[test]
    fn unmapped_roles_and_public_lose_their_mapping() {
        let mut local = local_converged();
        let options = local.mappings["users_admin"].clone();
        local.mappings.insert("public".into(), options.clone());
        local.mappings.insert("gone".into(), options);
        assert_eq!(
            shown(&plan_user_mappings(&spec(), &local)),
            [
                "DROP USER MAPPING IF EXISTS FOR \"gone\" SERVER \"orders_link\"",
                "DROP USER MAPPING IF EXISTS FOR PUBLIC SERVER \"orders_link\"",
            ]
        );
    }

    #[test]
    fn in_sync_mappings_plan_nothing() {
        assert!(plan_user_mappings(&spec(), &local_converged()).is_empty());
    }
}
