//! The whole planner: remote and local plans together, as a Create, Update or Delete sees them.

use super::fixtures::*;
use super::*;
use crate::spec::Password;
use crate::state::RoleState;

#[test]
fn create_from_nothing_makes_role_grants_server_mappings_and_imports() {
    let s = spec();
    let remote = remote_fresh();
    let exposed = exposed_tables(&s, &remote).unwrap();
    assert_eq!(exposed.len(), 1, "the excluded table stays hidden");
    let r = shown(&plan_remote(&s, &remote, &exposed).unwrap());
    assert_eq!(
        r,
        vec![
            "CREATE ROLE \"fdw_orders\" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD '********'",
            "COMMENT ON ROLE \"fdw_orders\" IS 'managed by fdw-bridge: test link=fdw-link/test'",
            // A third of the remote cluster's 90 connections for ordinary roles.
            "ALTER ROLE \"fdw_orders\" CONNECTION LIMIT 30",
            "GRANT CONNECT ON DATABASE \"orders\" TO \"fdw_orders\"",
            "GRANT USAGE ON SCHEMA \"public\" TO \"fdw_orders\"",
            "GRANT SELECT ON TABLE \"public\".\"orders\" TO \"fdw_orders\"",
        ]
    );
    let local = LocalState {
        current_user: "users_admin".into(),
        ..Default::default()
    };
    let plan = plan_local(&s, &remote_fresh(), &local, &exposed).unwrap();
    let l = shown(&plan.statements);
    assert_eq!(l[0], "CREATE EXTENSION IF NOT EXISTS postgres_fdw");
    assert!(l[1].starts_with("CREATE SERVER \"orders_link\" FOREIGN DATA WRAPPER postgres_fdw OPTIONS ("));
    assert!(l[1].contains("\"sslmode\"") || !s.server_options.contains_key("sslmode"));
    assert!(l.iter().any(|x| x == "CREATE USER MAPPING FOR \"report_reader\" SERVER \"orders_link\" OPTIONS (user 'fdw_orders', password '********')"));
    assert!(l.iter().any(|x| {
        x == "IMPORT FOREIGN SCHEMA \"public\" LIMIT TO (\"orders\") FROM SERVER \"orders_link\" INTO \"orders_remote\""
    }));
    assert!(l
        .iter()
        .any(|x| x == "GRANT SELECT ON TABLE \"orders_remote\".\"orders\" TO \"report_reader\""));
    assert_eq!(plan.imported, vec![("orders_remote".to_string(), "orders".to_string())]);
    // The executed text carries the password, properly quoted; the shown text never does.
    let mapping = plan
        .statements
        .iter()
        .find(|x| x.shown().starts_with("CREATE USER MAPPING"))
        .unwrap();
    assert!(mapping.sql().contains(r" E's3cr''et\\pw'"), "{}", mapping.sql());
    assert!(!l.join("\n").contains("s3cr"));
}

#[test]
fn converged_state_plans_nothing() {
    let s = spec();
    let remote = remote_converged();
    let exposed = exposed_tables(&s, &remote).unwrap();
    assert!(plan_remote(&s, &remote, &exposed).unwrap().is_empty());
    assert_eq!(
        plan_local(&s, &remote_fresh(), &local_converged(), &exposed).unwrap(),
        LocalPlan::default()
    );
}

#[test]
fn one_changed_option_is_one_alter() {
    let mut s = spec();
    s.server_options.insert("fetch_size".into(), "5000".into());
    let exposed = exposed_tables(&s, &remote_converged()).unwrap();
    let plan = plan_local(&s, &remote_fresh(), &local_converged(), &exposed).unwrap();
    assert_eq!(
        shown(&plan.statements),
        vec!["ALTER SERVER \"orders_link\" OPTIONS (SET \"fetch_size\" '5000')"]
    );
    s.server_options.insert("async_capable".into(), "true".into());
    s.server_options.remove("fetch_size");
    let plan = plan_local(&s, &remote_fresh(), &local_converged(), &exposed).unwrap();
    assert_eq!(
        shown(&plan.statements),
        vec!["ALTER SERVER \"orders_link\" OPTIONS (ADD \"async_capable\" 'true', DROP \"fetch_size\")"]
    );
}

#[test]
fn new_password_alters_role_and_every_mapping_without_showing_it() {
    let mut s = spec();
    s.fdw_password = Password("n3w-pass".into());
    let mut remote = remote_converged();
    remote.fdw_password_works = false;
    let exposed = exposed_tables(&s, &remote).unwrap();
    assert_eq!(
        shown(&plan_remote(&s, &remote, &exposed).unwrap()),
        vec!["ALTER ROLE \"fdw_orders\" PASSWORD '********'"]
    );
    let plan = plan_local(&s, &remote_fresh(), &local_converged(), &exposed).unwrap();
    let mut l = shown(&plan.statements);
    l.sort();
    assert_eq!(
        l,
        vec![
            "ALTER USER MAPPING FOR \"report_reader\" SERVER \"orders_link\" OPTIONS (SET \"password\" '********')",
            "ALTER USER MAPPING FOR \"users_admin\" SERVER \"orders_link\" OPTIONS (SET \"password\" '********')",
        ]
    );
    assert_eq!(plan.statements.len(), 2);
    assert!(plan
        .statements
        .iter()
        .all(|x| x.carries_secret() && x.sql().contains("n3w-pass")));
}

#[test]
fn dropped_role_and_table_are_revoked_and_removed() {
    let mut s = spec();
    s.local_roles.clear();
    s.imports[0].include = vec!["orders".into()];
    let remote = remote_converged();
    let exposed = exposed_tables(&s, &remote).unwrap();
    let l = shown(
        &plan_local(&s, &remote_fresh(), &local_converged(), &exposed)
            .unwrap()
            .statements,
    );
    assert_eq!(
        l,
        vec![
            "DROP USER MAPPING IF EXISTS FOR \"report_reader\" SERVER \"orders_link\"",
            "REVOKE USAGE ON SCHEMA \"orders_remote\" FROM \"report_reader\"",
            "REVOKE SELECT ON TABLE \"orders_remote\".\"orders\" FROM \"report_reader\"",
        ]
    );
}

#[test]
fn changed_remote_columns_are_reimported() {
    let s = spec();
    let mut remote = remote_converged();
    remote
        .schemas
        .get_mut("public")
        .unwrap()
        .get_mut("orders")
        .unwrap()
        .push(col("status", "text"));
    let exposed = exposed_tables(&s, &remote).unwrap();
    let plan = plan_local(&s, &remote_fresh(), &local_converged(), &exposed).unwrap();
    assert_eq!(
        shown(&plan.statements),
        vec![
            "DROP FOREIGN TABLE \"orders_remote\".\"orders\"",
            "IMPORT FOREIGN SCHEMA \"public\" LIMIT TO (\"orders\") FROM SERVER \"orders_link\" INTO \"orders_remote\"",
            "GRANT SELECT ON TABLE \"orders_remote\".\"orders\" TO \"report_reader\"",
        ]
    );
}

#[test]
fn refusals_name_the_cause() {
    let mut s = spec();
    s.imports[0].remote_schema = "nope".into();
    assert!(matches!(
        exposed_tables(&s, &remote_fresh()),
        Err(LinkPlanError::RemoteSchemaMissing { .. })
    ));

    let mut s = spec();
    s.imports[0].include = vec!["ghost".into()];
    let e = exposed_tables(&s, &remote_fresh()).unwrap_err();
    assert!(
        e.to_string().contains("ghost") && e.to_string().contains("IncludeTables"),
        "{e}"
    );

    let mut s = spec();
    s.fdw_user = "orders_admin".into();
    assert!(matches!(
        plan_remote(&s, &remote_fresh(), &[]),
        Err(LinkPlanError::FdwRoleIsAdmin { .. })
    ));

    let mut remote = remote_fresh();
    remote.fdw_role = Some(RoleState {
        can_login: true,
        comment: None,
        ..Default::default()
    });
    assert!(matches!(
        plan_remote(&spec(), &remote, &[]),
        Err(LinkPlanError::RemoteRoleNotOurs { .. })
    ));
    remote.fdw_role.as_mut().unwrap().comment = Some("managed by fdw-bridge: other".into());
    let e = plan_remote(&spec(), &remote, &[]).unwrap_err().to_string();
    assert!(e.contains("another fdw-bridge link"), "{e}");

    let mut local = local_converged();
    local.server.as_mut().unwrap().comment = None;
    assert!(matches!(
        plan_local(&spec(), &remote_fresh(), &local, &[]),
        Err(LinkPlanError::ServerNotOurs { .. })
    ));
    // Removal leaves a server it did not make alone.
    assert!(plan_local_removal(&spec(), &local).unwrap().is_empty());

    let mut local = local_converged();
    local.missing_roles = vec!["ghost".into()];
    assert!(plan_local(&spec(), &remote_fresh(), &local, &[])
        .unwrap_err()
        .to_string()
        .contains("ghost"));

    let mut local = local_converged();
    local.schemas.get_mut("orders_remote").unwrap().foreign_tables.clear();
    local
        .schemas
        .get_mut("orders_remote")
        .unwrap()
        .other_relations
        .insert("orders".into());
    let exposed = exposed_tables(&spec(), &remote_converged()).unwrap();
    assert!(matches!(
        plan_local(&spec(), &remote_fresh(), &local, &exposed),
        Err(LinkPlanError::LocalNameTaken { .. })
    ));
}

#[test]
fn hostile_names_are_quoted_as_single_identifiers() {
    let mut s = spec();
    let hostile = "x\"; DROP TABLE users; --";
    s.server_name = hostile.into();
    s.imports[0].local_schema = hostile.into();
    s.local_roles = vec![hostile.into()];
    let exposed = exposed_tables(&s, &remote_fresh()).unwrap();
    let plan = plan_local(&s, &remote_fresh(), &LocalState::default(), &exposed).unwrap();
    for st in &plan.statements {
        // Every occurrence is inside a doubled-quote identifier.
        assert!(!st.sql().contains("x\"; DROP"), "{}", st.sql());
    }
    assert!(plan
        .statements
        .iter()
        .any(|st| st.sql() == "CREATE SCHEMA \"x\"\"; DROP TABLE users; --\""));
}

#[test]
fn removal_touches_only_what_the_link_made() {
    let s = spec();
    let mut local = local_converged();
    assert_eq!(
        shown(&plan_local_removal(&s, &local).unwrap()),
        vec![
            "DROP FOREIGN TABLE \"orders_remote\".\"orders\"",
            "DROP SCHEMA \"orders_remote\"",
            "DROP USER MAPPING IF EXISTS FOR \"report_reader\" SERVER \"orders_link\"",
            "DROP USER MAPPING IF EXISTS FOR \"users_admin\" SERVER \"orders_link\"",
            "DROP SERVER \"orders_link\"",
        ]
    );
    // Someone's own view in the schema keeps the schema.
    local
        .schemas
        .get_mut("orders_remote")
        .unwrap()
        .other_relations
        .insert("my_view".into());
    assert!(!shown(&plan_local_removal(&s, &local).unwrap()).contains(&"DROP SCHEMA \"orders_remote\"".to_string()));
    // A foreign table elsewhere on the server stops the removal with its name.
    local.server_tables_elsewhere = vec!["public.hand_made".into()];
    assert!(plan_local_removal(&s, &local)
        .unwrap_err()
        .to_string()
        .contains("public.hand_made"));
    // Already gone: nothing to do.
    assert!(plan_local_removal(&s, &LocalState::default()).unwrap().is_empty());

    let mut remote = remote_converged();
    remote.clone_role = Some(RoleState {
        can_login: true,
        comment: None,
        ..Default::default()
    });
    assert_eq!(
        shown(&plan_remote_removal(&s, &remote)),
        vec![
            "REVOKE ALL ON TABLE \"public\".\"orders\" FROM \"fdw_orders\"",
            "REVOKE ALL ON SCHEMA \"public\" FROM \"fdw_orders\"",
            "REVOKE ALL ON DATABASE \"orders\" FROM \"fdw_orders\"",
            "DROP ROLE \"fdw_orders\"",
        ]
    );
}

#[test]
fn replacement_hands_the_remote_role_to_the_new_identity() {
    let old = spec();
    let mut new = spec();
    new.link_id = "fdw-link/other".into();
    new.server_name = "orders_link_v2".into();
    // The new identity adopts the role the old one made: one COMMENT, no refusal.
    let remote = remote_converged();
    let exposed = exposed_tables(&new, &remote).unwrap();
    assert_eq!(
        shown(&plan_remote(&new, &remote, &exposed).unwrap()),
        vec!["COMMENT ON ROLE \"fdw_orders\" IS 'managed by fdw-bridge: test link=fdw-link/other'"]
    );
    // Once handed over, the old identity's Delete leaves the role alone.
    let mut handed = remote_converged();
    handed.fdw_role.as_mut().unwrap().comment = Some(new.role_comment());
    assert!(plan_remote_removal(&old, &handed).is_empty());
    assert_eq!(
        plan_remote_removal(&new, &handed).last().map(|s| s.shown().to_string()),
        Some("DROP ROLE \"fdw_orders\"".into())
    );
    // A role of another stack's link is still refused.
    let mut foreign = remote_converged();
    foreign.fdw_role.as_mut().unwrap().comment = Some("managed by fdw-bridge: other-stack link=x".into());
    assert!(matches!(
        plan_remote(&new, &foreign, &exposed),
        Err(LinkPlanError::RemoteRoleNotOurs { .. })
    ));
}

#[test]
fn mappings_the_admin_cannot_read_follow_the_admins_own() {
    let s = spec();
    let mut local = local_converged();
    // As a non-superuser sees it: report_reader's options are hidden.
    local.hidden_mappings.insert("report_reader".into());
    local.mappings.insert("report_reader".into(), BTreeMap::new());
    let remote = remote_converged();
    let exposed = exposed_tables(&s, &remote).unwrap();
    assert!(plan_local(&s, &remote_fresh(), &local, &exposed)
        .unwrap()
        .statements
        .is_empty());

    // A new password: the admin's mapping is altered, the hidden one written anew.
    let mut rotated = s.clone();
    rotated.fdw_password = Password("new".into());
    let shown = shown(
        &plan_local(&rotated, &remote_fresh(), &local, &exposed)
            .unwrap()
            .statements,
    );
    assert_eq!(
        shown,
        vec![
            "ALTER USER MAPPING FOR \"users_admin\" SERVER \"orders_link\" OPTIONS (SET \"password\" '********')",
            "DROP USER MAPPING FOR \"report_reader\" SERVER \"orders_link\"",
            "CREATE USER MAPPING FOR \"report_reader\" SERVER \"orders_link\" OPTIONS (user 'fdw_orders', password '********')",
        ]
    );
}

#[test]
fn after_rotation_to_the_clone_the_mappings_follow_the_secret() {
    let mut s = spec();
    s.login_user = "fdw_orders_clone".into();
    // The clone exists (rotation made it) and the secret's password works for it.
    let mut remote = remote_converged();
    remote.clone_role = Some(RoleState {
        can_login: true,
        connection_limit: 30,
        comment: remote.fdw_role.as_ref().unwrap().comment.clone(),
        ..Default::default()
    });
    remote.fdw_password_works = true;
    let exposed = exposed_tables(&s, &remote).unwrap();
    // Remote: nothing; the base role keeps its grants and its old password.
    assert!(plan_remote(&s, &remote, &exposed).unwrap().is_empty());
    // Local: the mappings move to the clone.
    let plan = shown(
        &plan_local(&s, &remote_fresh(), &local_converged(), &exposed)
            .unwrap()
            .statements,
    );
    assert!(plan.iter().all(|st| st.contains("ALTER USER MAPPING")), "{plan:?}");
    assert!(plan.iter().all(|st| st.contains("'fdw_orders_clone'")), "{plan:?}");

    // From nothing with a secret that names the clone: base without password, clone with it.
    let fresh = shown(&plan_remote(&s, &remote_fresh(), &exposed).unwrap());
    assert_eq!(
        &fresh[..8],
        &[
            "CREATE ROLE \"fdw_orders\" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION",
            "COMMENT ON ROLE \"fdw_orders\" IS 'managed by fdw-bridge: test link=fdw-link/test'",
            "ALTER ROLE \"fdw_orders\" CONNECTION LIMIT 30",
            "CREATE ROLE \"fdw_orders_clone\" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD '********'",
            "COMMENT ON ROLE \"fdw_orders_clone\" IS 'managed by fdw-bridge: test link=fdw-link/test'",
            "ALTER ROLE \"fdw_orders_clone\" CONNECTION LIMIT 30",
            "GRANT \"fdw_orders\" TO \"fdw_orders_clone\"",
            "GRANT CONNECT ON DATABASE \"orders\" TO \"fdw_orders_clone\"",
        ]
    );
    // Removal takes both.
    let removal = shown(&plan_remote_removal(&s, &remote));
    assert!(removal.contains(&"DROP ROLE \"fdw_orders\"".to_string()));
    assert!(removal.contains(&"DROP ROLE \"fdw_orders_clone\"".to_string()));
}

#[test]
fn the_fdw_roles_share_of_the_remote_connections_is_kept_or_set() {
    let exposed = exposed_tables(&spec(), &remote_converged()).unwrap();
    // Converged: the role holds a third of the remote budget already.
    assert!(plan_remote(&spec(), &remote_converged(), &exposed).unwrap().is_empty());
    // An explicit FdwConnectionLimit, and a clone left by rotation, follow it.
    let mut s = spec();
    s.fdw_connection_limit = Some(12);
    let mut remote = remote_converged();
    remote.clone_role = Some(RoleState {
        can_login: true,
        connection_limit: 30,
        comment: remote.fdw_role.as_ref().unwrap().comment.clone(),
        ..Default::default()
    });
    assert_eq!(
        shown(&plan_remote(&s, &remote, &exposed).unwrap()),
        [
            "ALTER ROLE \"fdw_orders\" CONNECTION LIMIT 12",
            "ALTER ROLE \"fdw_orders_clone\" CONNECTION LIMIT 12",
        ]
    );
    // A tiny remote cluster still lets the link open one connection.
    assert_eq!(super::remote::default_connection_limit(2), 1);
    assert_eq!(super::remote::default_connection_limit(197), 65);
}

#[test]
fn the_budget_alone_follows_a_remote_cluster_restarted_smaller_as_the_whole_plan_would() {
    // Created at max_connections 200 (197 ordinary slots: 65), B restarted at 50 (47: 15).
    let mut remote = remote_converged();
    let ours = remote.fdw_role.as_ref().unwrap().comment.clone();
    for role in [&mut remote.fdw_role, &mut remote.clone_role] {
        *role = Some(RoleState {
            can_login: true,
            connection_limit: 65,
            comment: ours.clone(),
            ..Default::default()
        });
    }
    remote.connection_budget = 47;
    let s = spec();
    let alone = shown(&plan_connection_limits(
        &s,
        47,
        remote.fdw_role.as_ref(),
        remote.clone_role.as_ref(),
    ));
    assert_eq!(
        alone,
        [
            "ALTER ROLE \"fdw_orders\" CONNECTION LIMIT 15",
            "ALTER ROLE \"fdw_orders_clone\" CONNECTION LIMIT 15",
        ]
    );
    // The same statements the whole plan makes for the roles.
    let exposed = exposed_tables(&s, &remote).unwrap();
    let whole = shown(&plan_remote(&s, &remote, &exposed).unwrap());
    assert!(alone.iter().all(|st| whole.contains(st)), "{whole:?}");
    // Already fitting: nothing. An explicit FdwConnectionLimit wins. A role not ours: untouched.
    assert!(plan_connection_limits(&s, 197, remote.fdw_role.as_ref(), remote.clone_role.as_ref()).is_empty());
    let mut explicit = spec();
    explicit.fdw_connection_limit = Some(5);
    assert_eq!(
        plan_connection_limits(&explicit, 47, remote.fdw_role.as_ref(), None).len(),
        1
    );
    let foreign = RoleState {
        connection_limit: 65,
        comment: Some("someone else's".into()),
        ..Default::default()
    };
    assert!(plan_connection_limits(&s, 47, Some(&foreign), None).is_empty());
    assert!(plan_connection_limits(&s, 47, None, None).is_empty());
}

#[test]
fn a_renamed_local_schema_leaves_nothing_behind_on_update() {
    let mut s = spec();
    s.imports[0].local_schema = "orders_remote_v2".into();
    let remote = remote_converged();
    let exposed = exposed_tables(&s, &remote).unwrap();
    let local = local_converged();
    let plan = shown(&plan_local(&s, &remote, &local, &exposed).unwrap().statements);
    assert!(
        plan.contains(&"CREATE SCHEMA \"orders_remote_v2\"".to_string()),
        "{plan:?}"
    );
    let drop_tables = plan
        .iter()
        .position(|p| p == "DROP FOREIGN TABLE \"orders_remote\".\"orders\"")
        .expect("the old schema's tables go");
    let drop_schema = plan
        .iter()
        .position(|p| p == "DROP SCHEMA \"orders_remote\"")
        .expect("the old schema goes");
    assert!(drop_tables < drop_schema);
    // A schema with the marker of another link, or none, is not touched.
    let mut local = local_converged();
    if let Some(old) = local.schemas.get_mut("orders_remote") {
        old.comment = Some("managed by fdw-bridge: another".into());
    }
    let plan = shown(&plan_local(&s, &remote, &local, &exposed).unwrap().statements);
    assert!(!plan.iter().any(|p| p.contains("DROP")), "{plan:?}");
}

#[test]
fn no_usage_grant_of_its_own_where_public_already_has_usage() {
    let mut s = spec();
    s.imports[0].local_schema = "public".into();
    let remote = remote_converged();
    let exposed = exposed_tables(&s, &remote).unwrap();
    let mut local = local_converged();
    local.schemas.insert(
        "public".into(),
        LocalSchemaState {
            public_usage: true,
            ..Default::default()
        },
    );
    let plan = shown(&plan_local(&s, &remote, &local, &exposed).unwrap().statements);
    assert!(!plan.iter().any(|p| p.starts_with("GRANT USAGE")), "{plan:?}");
    assert!(plan.iter().any(|p| p.starts_with("GRANT SELECT")), "{plan:?}");
}

#[test]
fn ungrantable_tables_are_skipped_and_listed_or_refused_by_name() {
    let mut s = spec();
    s.imports[0].exclude.clear();
    let mut remote = remote_converged();
    remote
        .ungrantable
        .insert(("public".into(), "secrets".into()), "billing".into());
    s.skip_ungrantable = true;
    assert_eq!(skipped_tables(&s, &remote).unwrap(), ["public.secrets (owner billing)"]);
    let exposed = exposed_tables(&s, &remote).unwrap();
    assert_eq!(exposed.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["orders"]);
    s.skip_ungrantable = false;
    let e = skipped_tables(&s, &remote).unwrap_err().to_string();
    assert!(
        e.contains("remote table \"public\".\"secrets\" is owned by billing")
            && e.contains("GRANT SELECT ON \"public\".\"secrets\" TO \"orders_admin\" WITH GRANT OPTION"),
        "{e}"
    );
    // Named in IncludeTables: refused even with Skip.
    s.skip_ungrantable = true;
    s.imports[0].include = vec!["secrets".into()];
    assert!(skipped_tables(&s, &remote).is_err());
    // Already granted to the FDW role by its owner: nothing to skip.
    if let Some(role) = remote.fdw_role.as_mut() {
        role.grants.tables.insert(("public".into(), "secrets".into()));
    }
    assert!(skipped_tables(&s, &remote).unwrap().is_empty());
}

#[test]
fn a_reimport_or_delete_under_a_users_view_is_refused_naming_it() {
    let s = spec();
    let mut local = local_converged();
    if let Some(ft) = local
        .schemas
        .get_mut("orders_remote")
        .and_then(|schema| schema.foreign_tables.get_mut("orders"))
    {
        ft.dependents = vec!["reports.big_orders".into()];
    }
    let mut remote = remote_converged();
    if let Some(t) = remote.schemas.get_mut("public").and_then(|p| p.get_mut("orders")) {
        t.push(col("note", "text"));
    }
    let exposed = exposed_tables(&s, &remote).unwrap();
    let e = plan_local(&s, &remote, &local, &exposed).unwrap_err().to_string();
    assert!(
        e.starts_with("foreign table orders_remote.orders must be dropped (its remote columns changed")
            && e.contains("reports.big_orders"),
        "{e}"
    );
    // Unchanged columns: the view is no obstacle.
    let same = exposed_tables(&s, &remote_converged()).unwrap();
    assert!(plan_local(&s, &remote_converged(), &local, &same).is_ok());
    let e = plan_local_removal(&s, &local).unwrap_err().to_string();
    assert!(
        e.contains("the link is being removed") && e.contains("reports.big_orders"),
        "{e}"
    );
}
