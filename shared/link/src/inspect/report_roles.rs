//! The report roles the link makes on the local cluster, schema `fdw_reports`,
//! and the reader's grants on the tables the reports read.

use crate::spec::ReportRolesSpec;
use crate::state::{LocalRoleState, ReportRolesState, ReportsSchemaState};
use fdw_bridge_pg::PgError;
use tokio_postgres::Client;

/// The report roles, schema `fdw_reports`, and the reader's grants on the tables the reports read.
pub(super) async fn read_report_roles(client: &Client, spec: &ReportRolesSpec) -> Result<ReportRolesState, PgError> {
    let mut state = ReportRolesState::default();
    let names: Vec<&str> = spec.roles().map(|r| r.name.as_str()).to_vec();
    for r in client
        .query(
            "SELECT rolname::text, rolcanlogin, shobj_description(oid, 'pg_authid'),
                    pg_has_role(current_user, oid, 'MEMBER')
               FROM pg_roles WHERE rolname = ANY($1)",
            &[&names],
        )
        .await
        .map_err(report_roles_error)?
    {
        state.roles.insert(
            r.get(0),
            LocalRoleState {
                can_login: r.get(1),
                comment: r.get(2),
                admin_is_member: r.get(3),
            },
        );
    }
    state.schema = read_reports_schema(client).await?;
    let reader_exists = state.roles.contains_key(&spec.reader.name);
    read_reader_grants(client, spec, reader_exists, &mut state).await?;
    Ok(state)
}

fn report_roles_error(e: tokio_postgres::Error) -> PgError {
    PgError::new("reading the report roles on the local cluster", &e)
}

/// Schema `fdw_reports`, when it exists: its owner, comment and tables with their owners.
async fn read_reports_schema(client: &Client) -> Result<Option<ReportsSchemaState>, PgError> {
    Ok(client
        .query_opt(
            "SELECT pg_get_userbyid(n.nspowner)::text, obj_description(n.oid, 'pg_namespace'),
                    coalesce((SELECT array_agg(c.relname::text ORDER BY c.relname) FROM pg_class c
                               WHERE c.relnamespace = n.oid AND c.relkind IN ('r', 'p')), '{}'),
                    coalesce((SELECT array_agg(pg_get_userbyid(c.relowner)::text ORDER BY c.relname) FROM pg_class c
                               WHERE c.relnamespace = n.oid AND c.relkind IN ('r', 'p')), '{}')
               FROM pg_namespace n WHERE n.nspname = 'fdw_reports'",
            &[],
        )
        .await
        .map_err(report_roles_error)?
        .map(|r| ReportsSchemaState {
            owner: r.get(0),
            comment: r.get(1),
            tables: r
                .get::<_, Vec<String>>(2)
                .into_iter()
                .zip(r.get::<_, Vec<String>>(3))
                .collect(),
        }))
}

/// For each table the reports read: whether it exists, whether the reader may
/// SELECT it, and whether the reader may use its schema.
async fn read_reader_grants(
    client: &Client,
    spec: &ReportRolesSpec,
    reader_exists: bool,
    state: &mut ReportRolesState,
) -> Result<(), PgError> {
    let reader = &spec.reader.name;
    for (schema, table) in &spec.read_tables {
        let row = client
            .query_one(
                // CASE: the privilege functions fail for a role that does not exist yet.
                "SELECT c.oid IS NOT NULL,
                        CASE WHEN $3 AND c.oid IS NOT NULL THEN has_table_privilege($4, c.oid, 'SELECT') ELSE false END,
                        CASE WHEN $3 THEN EXISTS (SELECT 1 FROM pg_namespace n WHERE n.nspname = $1
                                                    AND has_schema_privilege($4, n.oid, 'USAGE'))
                             ELSE false END
                   FROM (SELECT to_regclass(format('%I.%I', $1::text, $2::text))::oid AS oid) c",
                &[schema, table, &reader_exists, reader],
            )
            .await
            .map_err(report_roles_error)?;
        let key = (schema.clone(), table.clone());
        if row.get(0) {
            state.read_tables_present.insert(key.clone());
        }
        if row.get(1) {
            state.read_tables_granted.insert(key);
        }
        if row.get(2) {
            state.read_schemas_usable.insert(schema.clone());
        }
    }
    Ok(())
}
