//! The one way fdw-bridge changes a cluster: all statements in one transaction,
//! under the one advisory lock, with a bounded wait for every other lock
//! (`lock_timeout`), and the server log kept quiet while a statement carries a password.

use super::connect::Connector;
use super::error::PgError;
use super::sql::{Statement, QUIET_LOGGING};
use super::target::ConnectTarget;
use super::SqlState;
use std::time::Duration;
use tokio_postgres::{Client, Transaction};

/// One advisory lock for all of fdw-bridge's changes on a cluster (link DDL,
/// rotation, the report store's schema): links that share a database grant on
/// the same catalog rows, and PostgreSQL refuses concurrent GRANTs on one object
/// ("tuple concurrently updated"); a rotation and a stack update never interleave.
pub const LOCK_KEY: &str = "fdw-bridge";

/// How long one statement may wait for a lock held by another session. DDL on a
/// foreign table needs an ACCESS EXCLUSIVE lock, which waits behind any open
/// transaction that read the table (an idle-in-transaction session waits forever).
/// `Custom::FdwLink` overrides it with the property `LockTimeoutSeconds`.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(5);

/// A second session on the same cluster, opened only when a statement has waited
/// for a lock for a while, to name who holds it (`pg_blocking_pids`): once the
/// wait has timed out the blockers can no longer be asked for.
#[derive(Clone, Copy)]
pub struct LockWatch<'a> {
    pub connector: &'a Connector,
    pub target: &'a ConnectTarget,
}

/// fdw-bridge's advisory lock held by one session across its catalog read, its
/// plan and its transaction, so that no other fdw-bridge run on the cluster
/// changes what was read before the plan is applied (CloudFormation creates and
/// deletes independent links in parallel). The transaction helpers below take
/// the same lock at transaction level, which PostgreSQL grants at once to the
/// session that already holds it. Release it with [`SessionLock::release`]; a
/// session that ends (an error, a killed process) releases it too.
#[must_use = "release the lock with SessionLock::release"]
pub struct SessionLock(());

impl SessionLock {
    /// Waits for the lock as long as another run holds it (that run's wait is
    /// bounded by its own lock_timeout per statement and by its Lambda deadline).
    pub async fn acquire(client: &Client) -> Result<SessionLock, PgError> {
        client
            .execute("SELECT pg_advisory_lock(hashtext($1))", &[&LOCK_KEY])
            .await
            .map_err(|e| PgError::new("taking fdw-bridge's advisory lock", &e))?;
        Ok(SessionLock(()))
    }

    pub async fn release(self, client: &Client) {
        if let Err(e) = client
            .execute("SELECT pg_advisory_unlock(hashtext($1))", &[&LOCK_KEY])
            .await
        {
            // The session is gone, and its lock with it.
            tracing::warn!(error = %PgError::new("releasing fdw-bridge's advisory lock", &e), "lock release failed");
        }
    }
}

/// One link's own lock on its local cluster (session level, the two-int form:
/// another lock space than [`SessionLock`]'s), held by a run for the whole of
/// its work on both clusters: a refresh and a Create, Update or Delete of the
/// same link take turns, so a refresh never applies properties an Update has
/// just replaced, nor makes again a link a Delete has just removed. Different
/// links never wait for each other; rotation never takes it.
#[must_use = "release the lock with LinkLock::release"]
pub struct LinkLock(String);

impl LinkLock {
    pub async fn acquire(client: &Client, server_name: &str) -> Result<LinkLock, PgError> {
        client
            .execute(
                "SELECT pg_advisory_lock(hashtext('fdw-bridge link'), hashtext($1))",
                &[&server_name],
            )
            .await
            .map_err(|e| PgError::new(&format!("taking link {server_name}'s advisory lock"), &e))?;
        Ok(LinkLock(server_name.to_string()))
    }

    pub async fn release(self, client: &Client) {
        if let Err(e) = client
            .execute(
                "SELECT pg_advisory_unlock(hashtext('fdw-bridge link'), hashtext($1))",
                &[&self.0],
            )
            .await
        {
            // The session is gone, and its lock with it.
            tracing::warn!(error = %PgError::new("releasing a link's advisory lock", &e), "lock release failed");
        }
    }
}

/// Runs `statements` in one transaction under the advisory lock [`LOCK_KEY`],
/// each waiting at most [`DEFAULT_LOCK_TIMEOUT`] for a lock.
/// Nothing is applied on error; nothing is sent when there is nothing to do.
pub async fn apply_in_transaction(client: &mut Client, statements: &[Statement]) -> Result<(), PgError> {
    apply_with_lock_timeout(client, statements, DEFAULT_LOCK_TIMEOUT, None).await
}

/// [`apply_in_transaction`] with its own `lock_timeout`; with `watch`, a lock
/// timeout names the sessions that held the lock.
pub async fn apply_with_lock_timeout(
    client: &mut Client,
    statements: &[Statement],
    lock_timeout: Duration,
    watch: Option<LockWatch<'_>>,
) -> Result<(), PgError> {
    if statements.is_empty() {
        return Ok(());
    }
    let tx = prepare_in_transaction(client, statements, lock_timeout, watch).await?;
    tx.commit().await.map_err(|e| PgError::new("committing", &e))
}

/// Runs `statements` in a transaction under the advisory lock, each waiting at
/// most `lock_timeout` for a lock, and leaves it open: the caller commits it (or
/// drops it to roll back), e.g. right after a commit on the other cluster, so
/// that the two commits are one round trip apart.
pub async fn prepare_in_transaction<'c>(
    client: &'c mut Client,
    statements: &[Statement],
    lock_timeout: Duration,
    watch: Option<LockWatch<'_>>,
) -> Result<Transaction<'c>, PgError> {
    let tx = client
        .transaction()
        .await
        .map_err(|e| PgError::new("starting a transaction", &e))?;
    let pid: i32 = tx
        .query_one(
            "SELECT pg_backend_pid() FROM (SELECT pg_advisory_xact_lock(hashtext($1))) AS locked",
            &[&LOCK_KEY],
        )
        .await
        .map_err(|e| PgError::new("taking fdw-bridge's advisory lock", &e))?
        .get(0);
    // After the advisory lock: waiting for another fdw-bridge run is bounded by
    // that run's own lock_timeout per statement, and by the Lambda deadline.
    let set = format!("SET LOCAL lock_timeout = '{}ms'", lock_timeout.as_millis());
    tx.batch_execute(&set)
        .await
        .map_err(|e| PgError::new("setting lock_timeout", &e))?;
    if statements.iter().any(Statement::carries_secret) {
        for setting in QUIET_LOGGING {
            tx.batch_execute(setting).await.map_err(|e| {
                PgError::new(
                    &format!(
                        "{setting} (needed so that passwords stay out of the server log; on PostgreSQL 15+ \
                         GRANT SET ON PARAMETER to the admin role, Aurora's rds_superuser may already)"
                    ),
                    &e,
                )
            })?;
        }
    }
    for statement in statements {
        tracing::info!(statement = %statement, "applying");
        // Simple query protocol: the text is sent once, never prepared.
        let run = tx.batch_execute(statement.sql());
        tokio::pin!(run);
        let mut blockers: Option<Result<Vec<String>, String>> = None;
        let result = match watch {
            None => run.await,
            Some(watch) => {
                tokio::select! {
                    r = &mut run => r,
                    // Ask while still waiting: after the timeout the blockers are gone from pg_blocking_pids.
                    _ = tokio::time::sleep(lock_timeout.mul_f32(0.6)) => {
                        blockers = Some(blocking_sessions(watch, pid).await);
                        run.await
                    }
                }
            }
        };
        if let Err(e) = result {
            let err = PgError::in_statement(statement.shown(), &e);
            return Err(if err.is(&SqlState::LOCK_NOT_AVAILABLE) {
                err.with_advice(lock_advice(lock_timeout, blockers))
            } else {
                err
            });
        }
    }
    Ok(tx)
}

/// What to do after a lock timeout, naming the sessions that held the lock when known.
fn lock_advice(lock_timeout: Duration, blockers: Option<Result<Vec<String>, String>>) -> String {
    let who = match blockers {
        Some(Ok(sessions)) if !sessions.is_empty() => format!("blocked by {}", sessions.join("; ")),
        Some(Ok(_)) => "the blocking session had ended by the time it was looked up".to_string(),
        Some(Err(e)) => format!("the blocking sessions could not be looked up ({e})"),
        None => "find the blocking sessions with pg_blocking_pids() and pg_stat_activity".to_string(),
    };
    format!(
        "Waited {} s for a lock ({who}). Commit or end those sessions (an idle-in-transaction session that read a \
         foreign table holds its lock until it ends: pg_terminate_backend(pid)), or raise LockTimeoutSeconds, then retry",
        lock_timeout.as_secs_f32()
    )
}

/// Aurora's master user (rds_superuser) sees every session in pg_stat_activity:
/// https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Appendix.PostgreSQL.CommonDBATasks.Roles.rds_superuser.html
/// The sessions `pid` waits for, one line each: pid, user, application, state
/// and since when, transaction and query start. Never their query text (it may
/// hold anything, a password included).
async fn blocking_sessions(watch: LockWatch<'_>, pid: i32) -> Result<Vec<String>, String> {
    let client = watch.connector.connect(watch.target).await.map_err(|e| e.to_string())?;
    let rows = client
        .query(
            "SELECT format('pid %s (user %s, application %L, %s since %s, transaction started %s, last query started %s)',
                           a.pid, coalesce(a.usename::text, '?'), coalesce(a.application_name, ''),
                           coalesce(a.state, 'state not visible'),
                           coalesce(to_char(a.state_change AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '?'),
                           coalesce(to_char(a.xact_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '?'),
                           coalesce(to_char(a.query_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '?'))
               FROM pg_stat_activity a
              WHERE a.pid = ANY (pg_blocking_pids($1))
              ORDER BY a.pid",
            &[&pid],
        )
        .await
        .map_err(|e| PgError::new("looking up the blocking sessions", &e).to_string())?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}
