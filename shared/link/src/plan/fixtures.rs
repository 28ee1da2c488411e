//! States shared by the planner's tests: a spec, and the catalogs of both
//! clusters before and after the link was made.

use crate::spec::{ImportSpec, LinkSpec, Password};
use crate::state::{
    Column, ForeignTableState, LocalSchemaState, LocalState, RemoteState, RoleGrants, RoleState, ServerState,
};
use fdw_bridge_pg::sql::Statement;
use std::collections::BTreeMap;

pub(super) fn col(name: &str, ty: &str) -> Column {
    Column {
        name: name.into(),
        data_type: ty.into(),
    }
}

pub(super) fn spec() -> LinkSpec {
    LinkSpec {
        server_name: "orders_link".into(),
        marker: "managed by fdw-bridge: test".into(),
        link_id: "fdw-link/test".into(),
        remote_host: "db-b".into(),
        remote_port: 5432,
        remote_database: "orders".into(),
        server_options: [("fetch_size".to_string(), "10000".to_string())].into(),
        fdw_user: "fdw_orders".into(),
        login_user: "fdw_orders".into(),
        fdw_password: Password("s3cr'et\\pw".into()),
        fdw_connection_limit: None,
        remote_admin_user: "orders_admin".into(),
        local_admin_user: "users_admin".into(),
        local_roles: vec!["report_reader".into()],
        imports: vec![ImportSpec {
            remote_schema: "public".into(),
            local_schema: "orders_remote".into(),
            include: vec![],
            exclude: vec!["secrets".into()],
        }],
        report_roles: None,
        skip_ungrantable: false,
        registration: None,
    }
}

pub(super) fn remote_fresh() -> RemoteState {
    RemoteState {
        database: "orders".into(),
        schemas: [(
            "public".to_string(),
            [
                (
                    "orders".to_string(),
                    vec![col("id", "bigint"), col("amount", "numeric(12,2)")],
                ),
                ("secrets".to_string(), vec![col("token", "text")]),
            ]
            .into(),
        )]
        .into(),
        connection_budget: 90,
        ..Default::default()
    }
}

/// The remote state after `plan_remote` for `spec()` ran.
pub(super) fn remote_converged() -> RemoteState {
    let mut r = remote_fresh();
    r.fdw_role = Some(RoleState {
        can_login: true,
        connection_limit: 30,
        comment: Some("managed by fdw-bridge: test link=fdw-link/test".into()),
        grants: RoleGrants {
            databases: ["orders".to_string()].into(),
            schemas: ["public".to_string()].into(),
            tables: [("public".to_string(), "orders".to_string())].into(),
            other_table_privileges: Default::default(),
        },
    });
    r.fdw_password_works = true;
    r
}

/// The local state after `plan_local` for `spec()` ran.
pub(super) fn local_converged() -> LocalState {
    let s = spec();
    let mapping: BTreeMap<String, String> = [
        ("user".to_string(), s.fdw_user.clone()),
        ("password".to_string(), s.fdw_password.expose().to_string()),
    ]
    .into();
    LocalState {
        current_user: "users_admin".into(),
        extension_installed: true,
        server: Some(ServerState {
            wrapper: "postgres_fdw".into(),
            options: s.all_server_options(),
            comment: Some(s.marker.clone()),
        }),
        mappings: [
            ("users_admin".to_string(), mapping.clone()),
            ("report_reader".to_string(), mapping),
        ]
        .into(),
        schemas: [(
            "orders_remote".to_string(),
            LocalSchemaState {
                comment: Some(s.marker.clone()),
                foreign_tables: [(
                    "orders".to_string(),
                    ForeignTableState {
                        server: "orders_link".into(),
                        columns: vec![col("id", "bigint"), col("amount", "numeric(12,2)")],
                        readers: ["report_reader".to_string()].into(),
                        dependents: Vec::new(),
                        analyzed_rows: Some(1000),
                    },
                )]
                .into(),
                usage: ["report_reader".to_string()].into(),
                ..Default::default()
            },
        )]
        .into(),
        ..Default::default()
    }
}

pub(super) fn shown(statements: &[Statement]) -> Vec<String> {
    statements.iter().map(|s| s.shown().to_string()).collect()
}
