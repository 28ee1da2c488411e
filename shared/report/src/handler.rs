//! One invocation: read the event, pick the reports and their windows (every
//! check before any connection, so a bad event writes nothing), run them,
//! print one CloudWatch EMF line per report, and fail the invocation when any
//! report failed (so Lambda's retries and a dead-letter target apply).

use super::catalog::{Catalog, UnknownReports};
use super::emf;
use super::event::{self, ReportEventError, ReportRequest};
use super::links::{MissingLinks, ReportLinks};
use super::run::{Job, ReportOutcome, RunContext, RunError, Runner};
use super::settings::ReportSettings;
use super::targets::{resolve_targets, ReportTargetError};
use fdw_bridge_aws::EndpointSource;
use fdw_bridge_aws::SecretSource;
use fdw_bridge_pg::Connector;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long reports may be retried when the caller gives no deadline.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(60);

#[derive(Clone)]
pub struct ReportFunction {
    pub settings: ReportSettings,
    pub catalog: Catalog,
    pub connector: Connector,
    pub secrets: Arc<dyn SecretSource>,
    pub endpoints: Arc<dyn EndpointSource>,
}

#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    #[error("unusable event, nothing was run: {0}")]
    Event(#[from] ReportEventError),
    #[error("nothing was run: {0}")]
    Unknown(#[from] UnknownReports),
    #[error("nothing was run: {0}")]
    Links(#[from] MissingLinks),
    #[error("nothing was run: {0}")]
    Resolve(#[from] ReportTargetError),
    #[error("nothing was run: {0}")]
    Run(#[from] RunError),
    #[error("{failed} of {total} report(s) failed: {details}")]
    ReportsFailed {
        failed: usize,
        total: usize,
        details: String,
        outcomes: Vec<ReportOutcome>,
    },
}

/// Why a request names no runnable reports (nothing is run).
#[derive(Debug, thiserror::Error)]
pub enum JobsError {
    #[error(transparent)]
    Unknown(#[from] UnknownReports),
    #[error(transparent)]
    Links(#[from] MissingLinks),
}

impl From<JobsError> for HandleError {
    fn from(e: JobsError) -> Self {
        match e {
            JobsError::Unknown(e) => Self::Unknown(e),
            JobsError::Links(e) => Self::Links(e),
        }
    }
}

impl HandleError {
    /// The outcomes when some reports ran.
    pub fn outcomes(&self) -> &[ReportOutcome] {
        match self {
            Self::ReportsFailed { outcomes, .. } => outcomes,
            _ => &[],
        }
    }
}

/// Which reports over which windows a request asks for: pure, no I/O. A
/// report named in the request must read through links the function knows
/// (else nothing is run); "all" is every report the function's links can run
/// (a report across a link this deployment does not have is left out, and logged).
pub fn jobs<'c>(catalog: &'c Catalog, request: &ReportRequest, links: &ReportLinks) -> Result<Vec<Job<'c>>, JobsError> {
    let selected = catalog.select(request.reports.as_deref())?;
    let mut runnable = Vec::new();
    let mut left_out = Vec::new();
    for report in selected {
        match links.of(report) {
            Ok(_) => runnable.push(report),
            Err(missing) if request.reports.is_none() => left_out.push(missing),
            Err(missing) => return Err(missing.into()),
        }
    }
    for missing in &left_out {
        tracing::info!(report = %missing.report, reason = %missing, "left out of \"all\": it reads through a link this function does not know");
    }
    Ok(runnable
        .into_iter()
        .map(|report| Job {
            report,
            window: request
                .window
                .unwrap_or_else(|| report.window.before(request.scheduled_time)),
        })
        .collect())
}

impl ReportFunction {
    /// One Lambda invocation: the summary, or the error that fails it (Lambda
    /// reports it through `From<HandleError> for Diagnostic`, so its retries
    /// and a dead-letter target apply).
    pub async fn invoke(&self, event: &Value, context: &lambda_runtime::Context) -> Result<Value, HandleError> {
        let deadline = fdw_bridge_runtime::deadline::deadline_from_epoch_ms(context.deadline);
        Ok(summary(&self.handle_until(event, &context.request_id, deadline).await?))
    }

    /// One invocation without a Lambda deadline: reports refused a connection
    /// are retried for up to [`DEFAULT_BUDGET`].
    pub async fn handle(&self, event: &Value, request_id: &str) -> Result<Vec<ReportOutcome>, HandleError> {
        self.handle_until(event, request_id, Instant::now() + DEFAULT_BUDGET)
            .await
    }

    /// One invocation that must be done by `deadline`.
    pub async fn handle_until(
        &self,
        event: &Value,
        request_id: &str,
        deadline: Instant,
    ) -> Result<Vec<ReportOutcome>, HandleError> {
        let request = event::parse(event)?;
        let links = ReportLinks::from_settings(&self.settings);
        let jobs = jobs(&self.catalog, &request, &links)?;
        tracing::info!(
            origin = ?request.origin,
            event_id = %request.event_id,
            scheduled_time = %request.scheduled_time.to_rfc3339(),
            reports = %jobs.iter().map(|j| format!("{} {}", j.report.name, j.window)).collect::<Vec<_>>().join(", "),
            "running reports"
        );
        let targets = resolve_targets(&self.settings, self.secrets.as_ref(), self.endpoints.as_ref()).await?;
        let runner = Runner::new(self.connector.clone(), targets, &self.settings);
        let context = RunContext {
            request_id: request_id.to_string(),
            event_id: request.event_id.clone(),
            deadline: Some(deadline),
        };
        let outcomes = runner.run(&jobs, &context).await?;
        let now_ms = fdw_bridge_runtime::emf::now_ms();
        for outcome in &outcomes {
            fdw_bridge_runtime::emf::print(&emf::metric_line(outcome, now_ms));
        }
        let failed: Vec<&ReportOutcome> = outcomes.iter().filter(|o| o.status.is_failure()).collect();
        if failed.is_empty() {
            return Ok(outcomes);
        }
        Err(HandleError::ReportsFailed {
            failed: failed.len(),
            total: outcomes.len(),
            details: failed
                .iter()
                .map(|o| {
                    format!(
                        "{} {} {}: {}",
                        o.report,
                        o.window,
                        o.status.as_str(),
                        o.error.as_deref().unwrap_or("")
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
            outcomes,
        })
    }
}

/// The invocation's answer: one entry per report.
pub fn summary(outcomes: &[ReportOutcome]) -> Value {
    json!({
        "reports": outcomes.iter().map(|o| json!({
            "report": o.report,
            "window_start": o.window.start.to_rfc3339(),
            "window_end": o.window.end.to_rfc3339(),
            "status": o.status.as_str(),
            "rows": o.rows,
            "duration_ms": o.duration_ms,
            "flagged": o.pushdown.is_flagged(),
            "error": o.error,
        })).collect::<Vec<_>>()
    })
}
