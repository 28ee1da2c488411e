//! The run record of one job on the writer: claimed before the report runs
//! (or found done, or running elsewhere), then completed with its outcome and rows.

use super::{Job, ReportOutcome, RunContext, Status, STALE_GRACE};
use crate::pushdown::PushdownReport;
use crate::store::{self, Claim, Record};
use crate::writer::Writer;
use std::time::Instant;

/// What one run of a report came to, before it is stored.
pub(super) struct Ran {
    pub(super) status: Status,
    pub(super) rows: Vec<String>,
    pub(super) error: Option<String>,
    pub(super) pushdown: PushdownReport,
    pub(super) duration_ms: u64,
}

/// The outcome of `job`.
fn outcome_of(
    job: &Job<'_>,
    status: Status,
    rows: Option<u64>,
    duration_ms: u64,
    error: Option<String>,
    pushdown: PushdownReport,
) -> ReportOutcome {
    ReportOutcome {
        report: job.report.name.clone(),
        window: job.window,
        status,
        rows,
        duration_ms,
        error,
        pushdown,
    }
}

/// Claims the job's report and window on the writer: the attempt to run, else
/// the outcome when it is done already, running elsewhere, or cannot be claimed.
pub(super) async fn claim_job(job: &Job<'_>, writer: &Writer, context: &RunContext) -> Result<i32, ReportOutcome> {
    let report = job.report.name.as_str();
    let window = job.window;
    let stale_after = job.report.timeout + STALE_GRACE;
    let claim = writer
        .with_session(
            &format!("claiming report {report} {window}"),
            context.attempts_until(),
            |session, _| {
                Box::pin(store::claim(
                    &session.client,
                    report,
                    &window,
                    &context.request_id,
                    &context.event_id,
                    stale_after,
                ))
            },
        )
        .await;
    match claim {
        Ok(Claim::Run { attempt }) => Ok(attempt),
        Ok(Claim::AlreadyDone { .. }) => {
            tracing::info!(report, window = %window, "already done: a result for this window is stored");
            Err(outcome_of(
                job,
                Status::AlreadyDone,
                None,
                0,
                None,
                PushdownReport::default(),
            ))
        }
        Ok(Claim::Running { request_id }) => {
            tracing::info!(report, window = %window, other_request = request_id.as_deref().unwrap_or(""), "another invocation is running this report and window");
            Err(outcome_of(
                job,
                Status::InProgress,
                None,
                0,
                None,
                PushdownReport::default(),
            ))
        }
        Err(e) => {
            let error = e.to_string();
            tracing::error!(report, window = %window, error = %error, "could not claim the run");
            Err(outcome_of(
                job,
                Status::Failed,
                None,
                0,
                Some(error),
                PushdownReport::default(),
            ))
        }
    }
}

/// Stores the run's record (and its rows, when it succeeded) on the writer, and says the job's outcome.
pub(super) async fn store_run(
    job: &Job<'_>,
    writer: &Writer,
    context: &RunContext,
    attempt: i32,
    ran: Ran,
) -> ReportOutcome {
    let report = job.report.name.as_str();
    let window = job.window;
    let Ran {
        status,
        rows,
        error,
        pushdown,
        duration_ms,
    } = ran;
    let record = Record {
        report,
        window: &window,
        attempt,
        status: status.as_str(),
        row_count: (status == Status::Succeeded).then_some(rows.len() as i64),
        duration_ms: duration_ms as i64,
        error: error.as_deref(),
        remote_sql: &pushdown.remote_sql(),
        flag_reasons: &pushdown.flagged,
    };
    // Until the deadline itself: the margin kept back was for this.
    let store_until = context.deadline.unwrap_or_else(Instant::now);
    let stored = writer
        .with_session(
            &format!("storing report {report} {window}"),
            store_until,
            |session, _| Box::pin(store::finish(&mut session.client, &record, &rows)),
        )
        .await;
    match (stored, status) {
        (Err(e), _) => {
            let error = format!(
                "{}; then the run record could not be written: {e}",
                error.unwrap_or_else(|| "the report ran".into())
            );
            tracing::error!(report, window = %window, error = %error, "report not stored");
            outcome_of(job, Status::Failed, None, duration_ms, Some(error), pushdown)
        }
        (Ok(()), Status::Succeeded) => {
            tracing::info!(report, window = %window, rows = rows.len(), duration_ms, flagged = pushdown.is_flagged(), "report stored");
            outcome_of(job, status, Some(rows.len() as u64), duration_ms, None, pushdown)
        }
        (Ok(()), _) => {
            tracing::error!(report, window = %window, status = status.as_str(), error = error.as_deref().unwrap_or(""), duration_ms, "report failed");
            outcome_of(job, status, None, duration_ms, error, pushdown)
        }
    }
}
