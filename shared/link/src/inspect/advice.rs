//! The query advice function (`fdw_bridge.advise`) and who may call it.

use crate::plan::advise_signature;
use crate::state::AdviceState;
use fdw_bridge_pg::PgError;
use tokio_postgres::Client;

/// `fdw_bridge.advise` when it is installed: its comment (the version), the
/// roles granted EXECUTE (its owner aside), and which of them another server maps.
pub(super) async fn read_advice(client: &Client, server: &str) -> Result<Option<AdviceState>, PgError> {
    let q = |e: tokio_postgres::Error| {
        PgError::new("reading the query advice (fdw_bridge.advise) on the local cluster", &e)
    };
    let Some(row) = client
        .query_opt(
            "SELECT obj_description(p.oid, 'pg_proc'),
                    coalesce(array_agg(DISTINCT r.rolname::text) FILTER (WHERE r.rolname IS NOT NULL), '{}'),
                    coalesce(array_agg(DISTINCT r.rolname::text) FILTER (WHERE EXISTS
                      (SELECT 1 FROM pg_user_mappings um WHERE um.umuser = r.oid AND um.srvname <> $2)), '{}')
               FROM pg_proc p
               LEFT JOIN LATERAL aclexplode(p.proacl) a ON a.privilege_type = 'EXECUTE' AND a.grantee <> p.proowner
               LEFT JOIN pg_roles r ON r.oid = a.grantee
              WHERE p.oid = to_regprocedure($1)
              GROUP BY p.oid",
            &[&advise_signature(), &server],
        )
        .await
        .map_err(q)?
    else {
        return Ok(None);
    };
    let callers: Vec<String> = row.get(1);
    let elsewhere: Vec<String> = row.get(2);
    Ok(Some(AdviceState {
        comment: row.get(0),
        callers: callers.into_iter().collect(),
        mapped_elsewhere: elsewhere.into_iter().collect(),
    }))
}
