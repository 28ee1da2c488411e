//! Running reports: each on its own read-only session on the local cluster's reader,
//! with its own statement_timeout, several at once up to a bound; the plan's
//! foreign scans are checked first, and the result and run record go to the
//! writer. A report that fails does not stop the others.

use super::advice;
use super::catalog::{LinkRef, Param, Report};
use super::links::{MissingLinks, ReportLinks};
use super::over_budget::{over_budget_advice, refused_server, remote_cluster_full};
use super::pushdown::{self, PushdownReport};
use super::settings::ReportSettings;
use super::slots::{Slot, Slots};
use super::store::{self, Claim, Record};
use super::targets::Targets;
use super::window::Window;
use super::writer::{Writer, WriterError, WriterFailure};
use fdw_bridge_pg::{ConnectError, Connector, PgError, SqlState};
use fdw_bridge_runtime::retry::{self, Retrier, Transient};
use futures_util::stream::{self, StreamExt};
use std::time::{Duration, Instant};
use tokio_postgres::types::ToSql;
use tokio_postgres::Client;

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
        let report = job.report.name.as_str();
        let window = job.window;
        let outcome = |status, rows, duration_ms, error, pushdown| ReportOutcome {
            report: report.to_string(),
            window,
            status,
            rows,
            duration_ms,
            error,
            pushdown,
        };
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
        let attempt = match claim {
            Ok(Claim::Run { attempt }) => attempt,
            Ok(Claim::AlreadyDone { .. }) => {
                tracing::info!(report, window = %window, "already done: a result for this window is stored");
                return outcome(Status::AlreadyDone, None, 0, None, PushdownReport::default());
            }
            Ok(Claim::Running { request_id }) => {
                tracing::info!(report, window = %window, other_request = request_id.as_deref().unwrap_or(""), "another invocation is running this report and window");
                return outcome(Status::InProgress, None, 0, None, PushdownReport::default());
            }
            Err(e) => {
                let error = e.to_string();
                tracing::error!(report, window = %window, error = %error, "could not claim the run");
                return outcome(Status::Failed, None, 0, Some(error), PushdownReport::default());
            }
        };

        let started = Instant::now();
        let result = self.query_in_slot(job.report, &window, writer, context).await;
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let (status, rows, error, pushdown) = match result {
            Ok((pushdown, rows)) => (Status::Succeeded, rows, None, pushdown),
            Err(f) => (f.status, Vec::new(), Some(f.error), f.pushdown),
        };
        for reason in &pushdown.flagged {
            tracing::warn!(report, window = %window, reason = %reason, "pushdown check flagged a foreign scan");
        }
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
                outcome(Status::Failed, None, duration_ms, Some(error), pushdown)
            }
            (Ok(()), Status::Succeeded) => {
                tracing::info!(report, window = %window, rows = rows.len(), duration_ms, flagged = pushdown.is_flagged(), "report stored");
                outcome(status, Some(rows.len() as u64), duration_ms, None, pushdown)
            }
            (Ok(()), _) => {
                tracing::error!(report, window = %window, status = status.as_str(), error = error.as_deref().unwrap_or(""), duration_ms, "report failed");
                outcome(status, None, duration_ms, error, pushdown)
            }
        }
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
        let wrapped = as_json_rows(&sql);
        let params = params(report, window);
        let result: Result<Vec<String>, PgError> = async {
            let tx = read_only(&mut client).await?;
            pushdown = self.pushdown(&tx, report, &sql, window).await?;
            let rows = tx
                .query(&wrapped, &params)
                .await
                .map_err(|e| PgError::new(&format!("report {}", report.name), &e))?;
            tx.commit()
                .await
                .map_err(|e| PgError::new("committing the read-only transaction", &e))?;
            Ok(rows.iter().map(|r| r.get::<_, String>(0)).collect())
        }
        .await;
        if report.uses_remote() {
            release_remote_connections(&client).await;
        }
        match result {
            Ok(rows) => Ok((pushdown, rows)),
            Err(e) => {
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
                    servers = foreign_servers(&client, &self.links, report).await;
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
                Err(QueryFailure {
                    status: if timed_out { Status::TimedOut } else { Status::Failed },
                    error,
                    pushdown,
                    transient,
                    advised,
                    servers,
                })
            }
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

/// A foreign server behind one of a report's links.
#[derive(Clone, Debug, PartialEq, Eq)]
struct RemoteServer {
    /// The link it serves ([`super::links::ReportLink::describe`]); the function's own link is cluster B.
    link: String,
    default_link: bool,
    server: String,
    /// `host:port/dbname` from its options.
    at: String,
}

impl RemoteServer {
    fn describe(&self, with_link: bool) -> String {
        let server = format!("foreign server \"{}\" at {}", self.server, self.at);
        if with_link {
            format!("{}: {server}", self.link)
        } else {
            server
        }
    }
}

/// Which remote cluster a failure through postgres_fdw concerns, for its message.
#[derive(Debug, PartialEq, Eq)]
struct Remote {
    /// "cluster B", "the remote cluster of link payments (...)", or "the remote clusters".
    cluster: String,
    /// The foreign server(s): the one the error names, else every one the report reads through.
    servers: String,
    /// What to check.
    check: String,
}

impl Remote {
    /// A report through the function's link alone keeps saying cluster B; one
    /// through several names the link whose server the error names, or all of them.
    fn of_failure(error: &str, servers: &[RemoteServer]) -> Option<Self> {
        if servers.is_empty() {
            return None;
        }
        if servers.iter().all(|s| s.default_link) {
            let text = servers.iter().map(|s| s.describe(false)).collect::<Vec<_>>().join(", ");
            return Some(Self {
                cluster: "cluster B".into(),
                servers: text,
                check: "cluster B".into(),
            });
        }
        let named = refused_server(error).and_then(|name| servers.iter().find(|s| s.server == name));
        Some(match named {
            Some(s) => Self {
                cluster: format!("the remote cluster of {}", s.link),
                servers: s.describe(false),
                check: "that cluster".into(),
            },
            None => Self {
                cluster: "the remote clusters".into(),
                servers: servers.iter().map(|s| s.describe(true)).collect::<Vec<_>>().join("; "),
                check: "each of those clusters".into(),
            },
        })
    }
}

/// The foreign servers behind the foreign tables of the report's links' schemas (none when unknown).
async fn foreign_servers(client: &Client, links: &ReportLinks, report: &Report) -> Vec<RemoteServer> {
    let Ok(report_links) = links.of(report) else {
        return Vec::new();
    };
    let schemas: Vec<String> = report_links.iter().map(|l| l.schema.clone()).collect();
    let Ok(rows) = client
        .query(
            "SELECT DISTINCT n.nspname::text, s.srvname::text,
                    coalesce((SELECT option_value FROM pg_options_to_table(s.srvoptions) WHERE option_name = 'host'), '?'),
                    coalesce((SELECT option_value FROM pg_options_to_table(s.srvoptions) WHERE option_name = 'port'), '5432'),
                    coalesce((SELECT option_value FROM pg_options_to_table(s.srvoptions) WHERE option_name = 'dbname'), '?')
               FROM pg_foreign_table ft
               JOIN pg_class c ON c.oid = ft.ftrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace
               JOIN pg_foreign_server s ON s.oid = ft.ftserver
              WHERE n.nspname::text = ANY($1::text[])
              ORDER BY 1, 2",
            &[&schemas],
        )
        .await
    else {
        return Vec::new();
    };
    rows.iter()
        .filter_map(|r| {
            let schema: String = r.get(0);
            let link = report_links.iter().find(|l| l.schema == schema)?;
            Some(RemoteServer {
                link: link.describe(),
                default_link: link.reference == LinkRef::Default,
                server: r.get(1),
                at: format!(
                    "{}:{}/{}",
                    r.get::<_, String>(2),
                    r.get::<_, String>(3),
                    r.get::<_, String>(4)
                ),
            })
        })
        .collect()
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
