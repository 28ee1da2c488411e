//! Schema `fdw_reports` on the local cluster's writer: one run record per (report,
//! window) and its result rows. A run claims its key first; a key that already
//! succeeded is never run again (a re-delivered event), a failed or timed-out
//! one is run again and replaced.

use super::window::Window;
use chrono::{DateTime, Utc};
use fdw_bridge_pg::sql::Statement;
use fdw_bridge_pg::{apply_in_transaction, PgError};
use std::time::Duration;
use tokio_postgres::Client;

/// Created when missing, under the cluster's advisory lock.
const DDL: [&str; 3] = [
    "CREATE SCHEMA IF NOT EXISTS fdw_reports",
    "CREATE TABLE IF NOT EXISTS fdw_reports.runs (
        report        text        NOT NULL,
        window_start  timestamptz NOT NULL,
        window_end    timestamptz NOT NULL,
        status        text        NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'timed_out')),
        row_count     bigint,
        duration_ms   bigint,
        error         text,
        remote_sql    text[]      NOT NULL DEFAULT '{}',
        flagged       boolean     NOT NULL DEFAULT false,
        flag_reasons  text[]      NOT NULL DEFAULT '{}',
        attempt       integer     NOT NULL DEFAULT 1,
        started_at    timestamptz NOT NULL,
        finished_at   timestamptz,
        request_id    text,
        event_id      text,
        PRIMARY KEY (report, window_start, window_end)
    )",
    "CREATE TABLE IF NOT EXISTS fdw_reports.results (
        report        text        NOT NULL,
        window_start  timestamptz NOT NULL,
        window_end    timestamptz NOT NULL,
        row_no        bigint      NOT NULL,
        row           jsonb       NOT NULL,
        PRIMARY KEY (report, window_start, window_end, row_no),
        FOREIGN KEY (report, window_start, window_end) REFERENCES fdw_reports.runs ON DELETE CASCADE
    )",
];

/// Creates the schema and tables when they are missing.
pub async fn ensure_schema(client: &mut Client) -> Result<(), PgError> {
    let present: bool = client
        .query_one(
            "SELECT to_regclass('fdw_reports.runs') IS NOT NULL AND to_regclass('fdw_reports.results') IS NOT NULL",
            &[],
        )
        .await
        .map_err(|e| PgError::new("looking for schema fdw_reports", &e))?
        .get(0);
    if present {
        return Ok(());
    }
    // The writer role the link makes owns fdw_reports but may not CREATE SCHEMA
    // (PostgreSQL checks that privilege before IF NOT EXISTS).
    let schema_exists: bool = client
        .query_one("SELECT to_regnamespace('fdw_reports') IS NOT NULL", &[])
        .await
        .map_err(|e| PgError::new("looking for schema fdw_reports", &e))?
        .get(0);
    let statements: Vec<Statement> = DDL
        .iter()
        .skip(usize::from(schema_exists))
        .map(|s| Statement::plain(*s))
        .collect();
    apply_in_transaction(client, &statements).await
}

/// The result of claiming a (report, window).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// Ours to run; `attempt` identifies this claim when the outcome is written.
    Run { attempt: i32 },
    /// Already succeeded: not run again.
    AlreadyDone { finished_at: Option<DateTime<Utc>> },
    /// Another invocation is running it right now.
    Running { request_id: Option<String> },
}

/// Claims the key: a new key, a failed or timed-out one, a `running` one
/// older than `stale_after` (an invocation that died), or one this request
/// claimed already (a claim whose answer a failover lost, or Lambda's retry of
/// an invocation that died, which keeps its request id) becomes ours.
pub async fn claim(
    client: &Client,
    report: &str,
    window: &Window,
    request_id: &str,
    event_id: &str,
    stale_after: Duration,
) -> Result<Claim, PgError> {
    let stale_ms = i64::try_from(stale_after.as_millis()).unwrap_or(i64::MAX);
    let claimed = client
        .query_opt(
            "INSERT INTO fdw_reports.runs AS r (report, window_start, window_end, status, started_at, request_id, event_id)
             VALUES ($1, $2, $3, 'running', clock_timestamp(), $4, $5)
             ON CONFLICT (report, window_start, window_end) DO UPDATE
                SET status = 'running', started_at = clock_timestamp(), finished_at = NULL, error = NULL,
                    row_count = NULL, duration_ms = NULL, remote_sql = '{}', flagged = false, flag_reasons = '{}',
                    request_id = EXCLUDED.request_id, event_id = EXCLUDED.event_id, attempt = r.attempt + 1
              WHERE r.status IN ('failed', 'timed_out')
                 OR (r.status = 'running' AND r.started_at < clock_timestamp() - $6::bigint * interval '1 millisecond')
                 OR (r.status = 'running' AND r.request_id = EXCLUDED.request_id)
             RETURNING r.attempt",
            &[&report, &window.start, &window.end, &request_id, &event_id, &stale_ms],
        )
        .await
        .map_err(|e| PgError::new(&format!("claiming report {report} {window} in fdw_reports.runs"), &e))?;
    if let Some(row) = claimed {
        return Ok(Claim::Run { attempt: row.get(0) });
    }
    let row = client
        .query_one(
            "SELECT status, finished_at, request_id FROM fdw_reports.runs
              WHERE report = $1 AND window_start = $2 AND window_end = $3",
            &[&report, &window.start, &window.end],
        )
        .await
        .map_err(|e| PgError::new(&format!("reading the run record of {report} {window}"), &e))?;
    let status: String = row.get(0);
    Ok(if status == "succeeded" {
        Claim::AlreadyDone {
            finished_at: row.get(1),
        }
    } else {
        Claim::Running { request_id: row.get(2) }
    })
}

/// What a finished run writes into its record.
#[derive(Clone, Debug)]
pub struct Record<'a> {
    pub report: &'a str,
    pub window: &'a Window,
    pub attempt: i32,
    /// `succeeded`, `failed` or `timed_out`.
    pub status: &'a str,
    pub row_count: Option<i64>,
    pub duration_ms: i64,
    pub error: Option<&'a str>,
    pub remote_sql: &'a [String],
    pub flag_reasons: &'a [String],
}

impl fdw_bridge_runtime::retry::Retryable for ReportStoreError {
    fn transient(&self) -> Option<fdw_bridge_runtime::retry::Transient> {
        match self {
            Self::Pg(e) => e.transient(),
            Self::LostClaim { .. } => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReportStoreError {
    #[error(transparent)]
    Pg(#[from] PgError),
    #[error("the claim on {report} {window} was taken over by another invocation before this one finished: its result was not stored")]
    LostClaim { report: String, window: String },
}

/// Replaces the key's results with `rows` (JSON text, in order) and completes
/// its record, in one transaction. Safe to repeat after a lost answer.
pub async fn finish(client: &mut Client, record: &Record<'_>, rows: &[String]) -> Result<(), ReportStoreError> {
    let during = |what: &str| format!("{what} for {} {}", record.report, record.window);
    let tx = client
        .transaction()
        .await
        .map_err(|e| PgError::new(&during("starting the result transaction"), &e))?;
    let updated = tx
        .execute(
            "UPDATE fdw_reports.runs
                SET status = $5, row_count = $6, duration_ms = $7, error = $8, remote_sql = $9,
                    flagged = cardinality($10::text[]) > 0, flag_reasons = $10, finished_at = clock_timestamp()
              WHERE report = $1 AND window_start = $2 AND window_end = $3 AND attempt = $4 AND status = 'running'",
            &[
                &record.report,
                &record.window.start,
                &record.window.end,
                &record.attempt,
                &record.status,
                &record.row_count,
                &record.duration_ms,
                &record.error,
                &record.remote_sql,
                &record.flag_reasons,
            ],
        )
        .await
        .map_err(|e| PgError::new(&during("completing the run record"), &e))?;
    if updated != 1 {
        // A try whose commit reached the writer before the session broke (a
        // failover) stored the result already: nothing is stored twice.
        let stored: Option<(i32, String)> = tx
            .query_opt(
                "SELECT attempt, status FROM fdw_reports.runs WHERE report = $1 AND window_start = $2 AND window_end = $3",
                &[&record.report, &record.window.start, &record.window.end],
            )
            .await
            .map_err(|e| PgError::new(&during("reading the run record"), &e))?
            .map(|r| (r.get(0), r.get(1)));
        if stored.is_some_and(|(attempt, status)| attempt == record.attempt && status == record.status) {
            return Ok(());
        }
        return Err(ReportStoreError::LostClaim {
            report: record.report.to_string(),
            window: record.window.to_string(),
        });
    }
    tx.execute(
        "DELETE FROM fdw_reports.results WHERE report = $1 AND window_start = $2 AND window_end = $3",
        &[&record.report, &record.window.start, &record.window.end],
    )
    .await
    .map_err(|e| PgError::new(&during("removing earlier results"), &e))?;
    if !rows.is_empty() {
        tx.execute(
            "INSERT INTO fdw_reports.results (report, window_start, window_end, row_no, row)
             SELECT $1, $2, $3, t.n, t.r::jsonb FROM unnest($4::text[]) WITH ORDINALITY AS t(r, n)",
            &[&record.report, &record.window.start, &record.window.end, &rows],
        )
        .await
        .map_err(|e| PgError::new(&during("storing the result rows"), &e))?;
    }
    tx.commit()
        .await
        .map_err(|e| PgError::new(&during("committing the result"), &e))?;
    Ok(())
}
