//! Running reports: each on its own read-only session on the local cluster's reader,
//! with its own statement_timeout, several at once up to a bound; the plan's
//! foreign scans are checked first, and the result and run record go to the
//! writer. A report that fails does not stop the others.

use super::advice;
use super::catalog::{LinkRef, Param, Report};
use super::links::{MissingLinks, ReportLinks};
use super::over_budget::{over_budget_advice, remote_cluster_full};
use super::pushdown::{self, PushdownReport};
use super::settings::ReportSettings;
use super::slots::{Slot, Slots};
use super::store;
use super::targets::Targets;
use super::window::Window;
use super::writer::{Writer, WriterError, WriterFailure};
use fdw_bridge_pg::{ConnectError, Connector, PgError, SqlState};
use fdw_bridge_runtime::retry::{self, Retrier, Transient};
use futures_util::stream::{self, StreamExt};
use std::time::{Duration, Instant};
use tokio_postgres::types::ToSql;
use tokio_postgres::Client;

mod record;
mod remote_failure;

use record::{claim_job, store_run, Ran};
use remote_failure::{foreign_servers, Remote, RemoteServer};

/// How long a `running` record of a dead invocation blocks a rerun, beyond the report's timeout.
const STALE_GRACE: Duration = Duration::from_secs(300);

pub struct Runner {
    pub connector: Connector,
    pub targets: Targets,
    /// The links reports may read through, each with its local schema on A.
    pub links: ReportLinks,
    pub concurrency: usize,
    pub pushdown_rows: f64,
    /// Per link (in the order of `links`), the report sessions on its remote
    /// cluster that all invocations share.
    pub remote_slots: Vec<Slots>,
}

/// One report over one window.
#[derive(Clone, Debug)]
pub struct Job<'a> {
    pub report: &'a Report,
    pub window: Window,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Succeeded,
    Failed,
    TimedOut,
    /// The (report, window) had already succeeded: nothing was run or written.
    AlreadyDone,
    /// Another invocation holds the (report, window) right now.
    InProgress,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::TimedOut => "timed_out",
            Self::AlreadyDone => "already_done",
            Self::InProgress => "in_progress",
        }
    }

    pub fn is_failure(self) -> bool {
        matches!(self, Self::Failed | Self::TimedOut)
    }
}

#[derive(Clone, Debug)]
pub struct ReportOutcome {
    pub report: String,
    pub window: Window,
    pub status: Status,
    pub rows: Option<u64>,
    pub duration_ms: u64,
    pub error: Option<String>,
    pub pushdown: PushdownReport,
}

/// Who is running, for the run records, and until when.
#[derive(Clone, Debug, Default)]
pub struct RunContext {
    pub request_id: String,
    pub event_id: String,
    /// The invocation's deadline: a report or a use of the writer that failed
    /// for a reason that passes (no free slot, a failover) is retried only
    /// while there is time left (None: never retried).
    pub deadline: Option<Instant>,
}

impl RunContext {
    /// The last moment to start an attempt: the deadline less the time to
    /// store the run record after it (now, without a deadline: no retry).
    fn attempts_until(&self) -> Instant {
        self.deadline
            .map(|d| d.checked_sub(STORE_MARGIN).unwrap_or(d))
            .unwrap_or_else(Instant::now)
    }
}

/// Time kept back from the deadline to store the run record after the last attempt.
const STORE_MARGIN: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot store report results: {0}")]
    Writer(WriterError<PgError>),
    #[error("cannot prepare schema fdw_reports on the writer: {0} (the writer role needs CREATE on the database)")]
    Schema(#[source] PgError),
}

impl From<WriterError<PgError>> for RunError {
    fn from(e: WriterError<PgError>) -> Self {
        match e {
            WriterError {
                failure: WriterFailure::Use(source),
                outage: None,
            } => Self::Schema(source),
            unreachable => Self::Writer(unreachable),
        }
    }
}

/// A report that did not complete on the reader.
struct QueryFailure {
    status: Status,
    error: String,
    pushdown: PushdownReport,
    /// Why another attempt may succeed (no free slot, a failover), if it may.
    transient: Option<Transient>,
    /// The error already says what to check.
    advised: bool,
    /// The foreign servers the report read through, when it failed on A's reader.
    servers: Vec<RemoteServer>,
}

/// A report's own failure, as the one policy sees it: a report session is
/// read-only by design, so a read-only error there is the report's SQL, not a
/// demoted writer, and is not retried.
fn report_transient(cause: Option<Transient>) -> Option<Transient> {
    cause.filter(|c| *c != Transient::ReadOnly)
}

impl Runner {
    /// The runner of one invocation: the settings' links, each with its budget.
    pub fn new(connector: Connector, targets: Targets, settings: &ReportSettings) -> Self {
        let links = ReportLinks::from_settings(settings);
        let remote_slots = links.all().iter().map(Slots::for_link).collect();
        Self {
            connector,
            targets,
            links,
            concurrency: settings.concurrency,
            pushdown_rows: settings.pushdown_rows,
            remote_slots,
        }
    }

    /// The budget of one of the runner's links.
    fn slots_of(&self, link: &LinkRef) -> Option<&Slots> {
        let at = self.links.all().iter().position(|l| &l.reference == link)?;
        self.remote_slots.get(at)
    }

    /// Runs every job; one outcome per job, in order. Errors only when the
    /// writer cannot be reached (then nothing can be recorded).
    pub async fn run(&self, jobs: &[Job<'_>], context: &RunContext) -> Result<Vec<ReportOutcome>, RunError> {
        let writer = Writer::new(self.connector.clone(), self.targets.writer.clone());
        writer
            .with_session(
                "preparing schema fdw_reports on cluster A's writer",
                context.attempts_until(),
                |session, _| Box::pin(store::ensure_schema(&mut session.client)),
            )
            .await?;
        Ok(stream::iter(jobs)
            .map(|job| self.run_one(job, &writer, context))
            .buffered(self.concurrency.max(1))
            .collect()
            .await)
    }

    async fn run_one(&self, job: &Job<'_>, writer: &Writer, context: &RunContext) -> ReportOutcome {
        let attempt = match claim_job(job, writer, context).await {
            Ok(attempt) => attempt,
            Err(outcome) => return outcome,
        };
        let started = Instant::now();
        let result = self.query_in_slot(job.report, &job.window, writer, context).await;
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let ran = match result {
            Ok((pushdown, rows)) => Ran {
                status: Status::Succeeded,
                rows,
                error: None,
                pushdown,
                duration_ms,
            },
            Err(f) => Ran {
                status: f.status,
                rows: Vec::new(),
                error: Some(f.error),
                pushdown: f.pushdown,
                duration_ms,
            },
        };
        for reason in &ran.pushdown.flagged {
            tracing::warn!(report = job.report.name.as_str(), window = %job.window, reason = %reason, "pushdown check flagged a foreign scan");
        }
        store_run(job, writer, context, attempt, ran).await
    }

    /// The pushdown check alone (EXPLAIN with the real parameters, nothing
    /// run or written): `--check`-style validation of a catalog.
    pub async fn check(&self, report: &Report, window: &Window) -> Result<PushdownReport, CheckError> {
        let sql = self.links.sql(report)?;
        let mut client = self.connector.connect(&self.targets.reader).await?;
        let tx = read_only(&mut client).await?;
        Ok(self.pushdown(&tx, report, &sql, window).await?)
    }

    /// EXPLAIN of `sql` (the report's, with its links' schemas) with the real
    /// parameters inside `tx`, then the pushdown check.
    async fn pushdown(
        &self,
        tx: &tokio_postgres::Transaction<'_>,
        report: &Report,
        sql: &str,
        window: &Window,
    ) -> Result<PushdownReport, PgError> {
        let plan = explain(tx, report, sql, window).await?;
        let advice = advice::advise(tx, &plan, sql, self.pushdown_rows).await?;
        Ok(PushdownReport {
            scans: pushdown::scans(&plan),
            flagged: advice.iter().map(|a| a.line()).collect(),
        })
    }

    /// [`Self::query_retried`] holding one of the slots of each link the report
    /// reads through, on that link's remote cluster's budget that all
    /// invocations share (a report that reads only cluster A needs none). The
    /// slots are taken in schema order, the one order of every invocation.
    async fn query_in_slot(
        &self,
        report: &Report,
        window: &Window,
        writer: &Writer,
        context: &RunContext,
    ) -> Result<(PushdownReport, Vec<String>), QueryFailure> {
        let failed = |error: String| QueryFailure {
            status: Status::Failed,
            transient: None,
            advised: true,
            error,
            pushdown: PushdownReport::default(),
            servers: Vec::new(),
        };
        let links = self.links.of(report).map_err(|e| failed(e.to_string()))?;
        // Without a deadline (a direct call), a slot is waited for as long as reports are retried.
        let until = context
            .deadline
            .unwrap_or_else(|| Instant::now() + super::handler::DEFAULT_BUDGET);
        let until = until.checked_sub(STORE_MARGIN).unwrap_or(until);
        let mut held: Vec<(&Slots, Slot)> = Vec::new();
        for link in links {
            let Some(slots) = self.slots_of(&link.reference) else {
                continue;
            };
            match slots.acquire(writer, until).await {
                Ok(slot) => held.push((slots, slot)),
                Err(e) => {
                    release_all(writer, held).await;
                    return Err(failed(e.to_string()));
                }
            }
        }
        let result = self.query_retried(report, window, context).await;
        release_all(writer, held).await;
        result
    }

    /// [`Self::query`], tried again under the one retry policy (a cluster out
    /// of slots, restarting or failing over) while the invocation has time
    /// left. Each attempt is a new read-only session: nothing is written twice.
    async fn query_retried(
        &self,
        report: &Report,
        window: &Window,
        context: &RunContext,
    ) -> Result<(PushdownReport, Vec<String>), QueryFailure> {
        let mut retrier = Retrier::new(format!("report {} {window}", report.name), context.attempts_until());
        loop {
            let failure = match self.query(report, window).await {
                Err(f) => f,
                done => return done,
            };
            // B (or another link's cluster) ran out of slots before the FDW role reached its CONNECTION LIMIT.
            let over_budget = remote_cluster_full(&failure.error).then(|| {
                over_budget_advice(&failure.error, |server| {
                    failure
                        .servers
                        .iter()
                        .find(|s| s.server == server)
                        .map(|s| s.link.clone())
                })
            });
            if let Some(advice) = &over_budget {
                tracing::warn!(report = %report.name, error = %failure.error, "{advice}");
            }
            let Some(cause) = failure.transient else {
                return Err(failure);
            };
            if retrier.pause(cause, &failure.error).await {
                continue;
            }
            let explained = match retrier.outage() {
                // A broken connection to B already says what to check.
                Some(outage) if failure.advised => format!("{outage}: {}", failure.error),
                Some(outage) => outage.explain(&failure.error),
                None => failure.error.clone(),
            };
            let advice = over_budget.map_or_else(String::new, |advice| format!("; {advice}"));
            return Err(QueryFailure {
                error: format!("{explained}{advice}"),
                ..failure
            });
        }
    }

    /// Runs one report on a read-only session of its own: the pushdown check
    /// (EXPLAIN with the real parameters), then the rows as JSON text.
    async fn query(&self, report: &Report, window: &Window) -> Result<(PushdownReport, Vec<String>), QueryFailure> {
        let mut pushdown = PushdownReport::default();
        let sql = self.links.sql(report).map_err(|e: MissingLinks| QueryFailure {
            status: Status::Failed,
            transient: None,
            advised: true,
            error: e.to_string(),
            pushdown: PushdownReport::default(),
            servers: Vec::new(),
        })?;
        let mut client = self
            .connector
            .connect(&self.targets.reader)
            .await
            .map_err(|e| QueryFailure {
                status: Status::Failed,
                transient: report_transient(retry::of_connect(&e)),
                advised: false,
                error: e.to_string(),
                pushdown: pushdown.clone(),
                servers: Vec::new(),
            })?;
        let result = self.read_rows(&mut client, report, &sql, window, &mut pushdown).await;
        if report.uses_remote() {
            release_remote_connections(&client).await;
        }
        match result {
            Ok(rows) => Ok((pushdown, rows)),
            Err(e) => Err(self.query_failure(&client, report, e, pushdown).await),
        }
    }

    /// The report's rows (as JSON) in one read-only transaction, after the
    /// pushdown check of the same SQL, whose findings land in `pushdown`.
    async fn read_rows(
        &self,
        client: &mut tokio_postgres::Client,
        report: &Report,
        sql: &str,
        window: &Window,
        pushdown: &mut PushdownReport,
    ) -> Result<Vec<String>, PgError> {
        let wrapped = as_json_rows(sql);
        let params = params(report, window);
        let tx = read_only(client).await?;
        *pushdown = self.pushdown(&tx, report, sql, window).await?;
        let rows = tx
            .query(&wrapped, &params)
            .await
            .map_err(|e| PgError::new(&format!("report {}", report.name), &e))?;
        tx.commit()
            .await
            .map_err(|e| PgError::new("committing the read-only transaction", &e))?;
        Ok(rows.iter().map(|r| r.get::<_, String>(0)).collect())
    }

    /// A failed report query, said so that it leads with what to check: the
    /// report's timeout, or the remote cluster and servers behind the error.
    async fn query_failure(
        &self,
        client: &tokio_postgres::Client,
        report: &Report,
        e: PgError,
        pushdown: PushdownReport,
    ) -> QueryFailure {
        let transient = report_transient(retry::of_pg(e.code.as_ref(), &e.message_and_detail()));
        let refused_for_now = transient == Some(Transient::NoSlot);
        let timed_out = e.code == Some(SqlState::QUERY_CANCELED) && e.message.contains("statement timeout");
        let mut error = e.to_string();
        let mut advised = false;
        let mut servers = Vec::new();
        if timed_out {
            error.push_str(&format!(
                " (the report's timeout is {} ms; the remote query was cancelled with it)",
                report.timeout.as_millis()
            ));
        } else if report.uses_remote() {
            servers = foreign_servers(client, &self.links, report).await;
            if let Some(remote) = Remote::of_failure(&error, &servers) {
                // A refusal for lack of slots is no broken connection: it keeps B's own words first.
                if lost_remote_connection(e.code.as_ref()) && !refused_for_now {
                    // postgres_fdw's own text ("SSL SYSCALL error: EOF detected")
                    // names neither the cluster nor the server: lead with them.
                    error = format!(
                        "the connection from cluster A to {} ({}) failed or broke during the report: {error}; \
                                 check {} and the network between the clusters, then rerun the report",
                        remote.cluster, remote.servers, remote.check
                    );
                    advised = true;
                } else {
                    error.push_str(&format!(" (through {})", remote.servers));
                }
            }
        }
        QueryFailure {
            status: if timed_out { Status::TimedOut } else { Status::Failed },
            error,
            pushdown,
            transient,
            advised,
            servers,
        }
    }
}

/// Closes the session's postgres_fdw connections on cluster B now rather than
/// when the session ends: behind a pooler (RDS Proxy) the backend outlives
/// the client and would keep its connection on B, inside the FDW role's
/// CONNECTION LIMIT. Measured: a few ms per report, where `keep_connections
/// 'off'` would charge every interactive transaction a new connection (docs/sizing.md,
/// "Releasing a report's connection"). A failure is only logged: the session
/// ends next anyway.
async fn release_remote_connections(client: &Client) {
    let released = async {
        let call: Option<String> = client
            .query_opt(
                "SELECT format('SELECT %I.postgres_fdw_disconnect_all()', n.nspname)
                   FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
                  WHERE e.extname = 'postgres_fdw'",
                &[],
            )
            .await?
            .map(|r| r.get(0));
        if let Some(call) = call {
            client.simple_query(&call).await?;
        }
        Ok::<(), tokio_postgres::Error>(())
    }
    .await;
    if let Err(e) = released {
        tracing::warn!(error = %fdw_bridge_pg::error_chain(&e), "could not release the session's connections on cluster B; they close with the session");
    }
}

/// A connection exception (SQLSTATE class 08) raised by cluster A: it comes
/// from postgres_fdw's connection to cluster B, since a lost session to A
/// itself carries no SQLSTATE.
fn lost_remote_connection(code: Option<&SqlState>) -> bool {
    code.is_some_and(fdw_bridge_pg::is_connection_exception)
}

/// A read-only transaction: reports never write where they read.
async fn read_only(client: &mut tokio_postgres::Client) -> Result<tokio_postgres::Transaction<'_>, PgError> {
    client
        .build_transaction()
        .read_only(true)
        .start()
        .await
        .map_err(|e| PgError::new("starting a read-only transaction", &e))
}

/// The report's rows, each as one JSON object (text), in the report's order.
pub fn as_json_rows(sql: &str) -> String {
    format!("SELECT to_jsonb(r)::text FROM (\n{sql}\n) AS r")
}

/// The report's bound parameters, `$1`, `$2`, ... in header order.
pub fn params<'a>(report: &Report, window: &'a Window) -> Vec<&'a (dyn ToSql + Sync)> {
    report
        .params
        .iter()
        .map(|p| match p {
            Param::WindowStart => &window.start as &(dyn ToSql + Sync),
            Param::WindowEnd => &window.end as &(dyn ToSql + Sync),
        })
        .collect()
}

/// Sets the report's statement_timeout (and UTC) in the transaction and
/// returns its plan with the real parameters.
async fn explain(
    tx: &tokio_postgres::Transaction<'_>,
    report: &Report,
    sql: &str,
    window: &Window,
) -> Result<serde_json::Value, PgError> {
    let settings = format!(
        "SET LOCAL statement_timeout = {}; SET LOCAL TimeZone = 'UTC'",
        report.timeout.as_millis()
    );
    tx.batch_execute(&settings)
        .await
        .map_err(|e| PgError::new(&settings, &e))?;
    let sql = format!("EXPLAIN (VERBOSE, FORMAT JSON) {}", as_json_rows(sql));
    Ok(tx
        .query_one(&sql, &params(report, window))
        .await
        .map_err(|e| PgError::new(&format!("EXPLAIN of report {}", report.name), &e))?
        .get(0))
}

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error(transparent)]
    Links(#[from] MissingLinks),
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error(transparent)]
    Pg(#[from] PgError),
}

/// Gives back every slot held, last taken first.
async fn release_all(writer: &Writer, held: Vec<(&Slots, Slot)>) {
    for (slots, slot) in held.into_iter().rev() {
        slots.release(writer, slot).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(link: &str, default_link: bool, name: &str) -> RemoteServer {
        RemoteServer {
            link: link.into(),
            default_link,
            server: name.into(),
            at: "h:5432/db".into(),
        }
    }

    #[test]
    fn a_failure_names_the_remote_cluster_it_came_from() {
        let b = server("the link of schema \"o\" (FDW_REPORT_SCHEMA)", true, "orders_link");
        let c = server("link payments (schema \"p\", FDW_REPORT_LINKS)", false, "payments_link");
        assert_eq!(Remote::of_failure("x", &[]), None);
        // The function's own link alone: cluster B, as before there were named links.
        let r = Remote::of_failure("SSL SYSCALL error: EOF detected", std::slice::from_ref(&b)).unwrap();
        assert_eq!(r.cluster, "cluster B");
        assert_eq!(r.servers, "foreign server \"orders_link\" at h:5432/db");
        // Two links, the error names C's server: C's cluster and server alone.
        let both = [b.clone(), c.clone()];
        let r = Remote::of_failure(
            "could not connect to server \"payments_link\" (connection to server at \"c\" failed: Connection refused)",
            &both,
        )
        .unwrap();
        assert_eq!(r.cluster, format!("the remote cluster of {}", c.link));
        assert_eq!(r.servers, "foreign server \"payments_link\" at h:5432/db");
        // Two links and an error that names no server: both, each with its link.
        let r = Remote::of_failure("SSL SYSCALL error: EOF detected", &both).unwrap();
        assert_eq!(r.cluster, "the remote clusters");
        assert!(
            r.servers
                .contains(&format!("{}: foreign server \"orders_link\"", b.link))
                && r.servers
                    .contains(&format!("{}: foreign server \"payments_link\"", c.link)),
            "{}",
            r.servers
        );
    }
}
