//! What crosses the link in one run of a query, counted on B by
//! pg_stat_statements (the bench stack preloads it: FDW_STACK_PRELOAD):
//! the rows postgres_fdw FETCHed and the statements it sent, one round trip
//! each (DECLARE, FETCH, CLOSE, transaction control, session settings).

use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Statement};

#[derive(Clone, Copy, Debug)]
pub struct Traffic {
    pub fetched_rows: i64,
    pub round_trips: i64,
}

/// Creates pg_stat_statements in B's `orders` database (superuser session there).
pub async fn enable(b_superuser: &Client) {
    b_superuser
        .batch_execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        .await
        .unwrap_or_else(|e| {
            panic!(
                "pg_stat_statements on B: {e}. The bench stack loads it when started with \
                 FDW_STACK_PRELOAD=pg_stat_statements (make bench does; a stack already running \
                 must be restarted: FDW_STACK_DIR=... stack/stack.sh down, then make bench)"
            )
        });
}

pub async fn one_run(
    session: &Client,
    statement: &Statement,
    params: &[&(dyn ToSql + Sync)],
    b_superuser: &Client,
) -> Traffic {
    b_superuser
        .batch_execute("SELECT pg_stat_statements_reset()")
        .await
        .expect("pg_stat_statements_reset on B");
    session.query(statement, params).await.expect("counted run");
    // Only top-level statements: a cursor's query is also recorded, nested, when it closes.
    let row = b_superuser
        .query_one(
            "SELECT coalesce(sum(s.rows) FILTER (WHERE s.query ILIKE 'FETCH%'), 0)::bigint,
                    coalesce(sum(s.calls), 0)::bigint
               FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
              WHERE s.toplevel AND r.rolname <> 'postgres'",
            &[],
        )
        .await
        .expect("reading pg_stat_statements on B");
    Traffic {
        fetched_rows: row.get(0),
        round_trips: row.get(1),
    }
}
