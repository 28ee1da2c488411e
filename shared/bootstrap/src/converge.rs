//! Bringing both clusters to the desired state, or removing the link: read the
//! catalogs, plan with the pure planner, apply one transaction per cluster.

use super::replica_wait::{wait_for_reader, ReplicaWaitError};
use super::resolve::ResolvedLink;
use fdw_bridge_link::analyze::analyze;
use fdw_bridge_link::inspect::read_registry;
use fdw_bridge_link::inspect::{read_local, read_local_types, read_remote};
use fdw_bridge_link::plan::{
    exposed_tables, moved_tables, plan_local, plan_local_removal, plan_remote, plan_remote_removal, skipped_tables,
    ExposedTable, LinkPlanError,
};
use fdw_bridge_link::remote_ca::{find_remote_ca, RemoteCaError};
use fdw_bridge_link::spec::LinkSpec;
use fdw_bridge_link::state::{LocalState, RemoteState};
use fdw_bridge_pg::sql::Statement;
use fdw_bridge_pg::{
    apply_with_lock_timeout, probe_login, with_admin_option_advice, ConnectError, ConnectTarget, Connector, LinkLock,
    LockWatch, PgError, SessionLock,
};
use std::time::Instant;
use tokio_postgres::Client;

#[derive(Debug, thiserror::Error)]
pub enum ConvergeError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("{cluster}: {source}")]
    Sql {
        cluster: &'static str,
        #[source]
        source: PgError,
    },
    #[error(transparent)]
    Plan(#[from] LinkPlanError),
    #[error(transparent)]
    RemoteCa(#[from] RemoteCaError),
    #[error(transparent)]
    Replica(#[from] ReplicaWaitError),
    #[error(
        "link {server}: a Create, Update or Delete of it ran while this refresh waited for it, and its row in \
         fdw_bridge.links changed: that run brought the link where it is; nothing was done"
    )]
    Superseded { server: String },
}

/// What a run did, for the response and the log.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LinkChanges {
    /// Statements applied on the remote cluster, as shown (passwords redacted).
    pub remote: Vec<String>,
    /// Statements applied on the local cluster, as shown.
    pub local: Vec<String>,
    /// Foreign tables the link exposes after the run.
    pub table_count: usize,
    /// Foreign tables ANALYZEd in this run (or that would be, in a dry run):
    /// the imported ones and those whose remote row count moved.
    pub analyzed: usize,
    /// Remote tables left out because the remote admin may not grant SELECT on them.
    pub skipped: Vec<String>,
}

impl LinkChanges {
    pub fn statement_count(&self) -> usize {
        self.remote.len() + self.local.len()
    }
}

fn sql(cluster: &'static str) -> impl Fn(PgError) -> ConvergeError {
    move |source| ConvergeError::Sql { cluster, source }
}

/// The server option that names the CA file on the local cluster's server.
const SSLROOTCERT: &str = "sslrootcert";

const REMOTE: &str = "remote cluster";
const LOCAL: &str = "local cluster";
const REMOTE_FROM_LOCAL: &str = "remote cluster, as reached from the local cluster's foreign server";

/// An error of a statement on the local cluster. A connection exception
/// (SQLSTATE class 08) there comes from postgres_fdw's session to the remote
/// cluster (IMPORT FOREIGN SCHEMA, ANALYZE of a foreign table), so it is the
/// remote cluster's: a lost session to the local cluster itself has no SQLSTATE.
fn local_sql(source: PgError) -> ConvergeError {
    if !source.code.as_ref().is_some_and(fdw_bridge_pg::is_connection_exception) {
        return sql(LOCAL)(source);
    }
    let source = if source.advice.is_some() {
        source
    } else {
        source.with_advice(
            "The local cluster's transaction was rolled back; check that the remote cluster is up, reachable \
             from the local cluster (its security group, the server's host and port) and that its certificate \
             verifies against the server's sslrootcert, then retry",
        )
    };
    ConvergeError::Sql {
        cluster: REMOTE_FROM_LOCAL,
        source,
    }
}

/// Whether a run changes the clusters or only says what it would change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvergeMode {
    Apply,
    /// Plan against both catalogs and report; change nothing, ANALYZE nothing.
    DryRun,
}

/// Creates or converges the link. Both sides are planned before either is
/// changed, so a refusal on the local side leaves the remote side untouched.
/// Then each side is planned again under fdw-bridge's lock on its cluster and
/// applied before the lock is let go: another link's run on the same cluster
/// (CloudFormation creates and deletes independent resources in parallel) can
/// no longer change the catalog between a read and the apply that relies on it.
/// No run holds one cluster's lock while it waits for the other's, so links in
/// both directions between two clusters cannot deadlock.
/// Foreign tables imported by the run, and those whose remote row count moved
/// past autovacuum's threshold since their last ANALYZE, are analyzed after.
/// The whole run holds the link's own lock on the local cluster ([`LinkLock`]).
pub async fn converge(
    connector: &Connector,
    link: &ResolvedLink,
    mode: ConvergeMode,
) -> Result<LinkChanges, ConvergeError> {
    let mut local = connector.connect(&link.local_admin).await?;
    if mode == ConvergeMode::DryRun {
        return converge_on(connector, link, mode, &mut local).await;
    }
    let lock = LinkLock::acquire(&local, &link.spec.server_name)
        .await
        .map_err(sql(LOCAL))?;
    let result = async {
        still_stored(&local, link).await?;
        converge_on(connector, link, mode, &mut local).await
    }
    .await;
    lock.release(&local).await;
    result
}

/// A run resolved from the link's stored properties (a refresh) goes on only
/// while they are still what is stored.
async fn still_stored(local: &Client, link: &ResolvedLink) -> Result<(), ConvergeError> {
    let Some(resolved_from) = &link.resolved_from_stored else {
        return Ok(());
    };
    let registry = read_registry(local).await.map_err(sql(LOCAL))?;
    let stored = registry.and_then(|r| r.links.get(&link.spec.server_name).map(|l| l.properties.clone()));
    if stored.as_ref() == Some(resolved_from) {
        Ok(())
    } else {
        Err(ConvergeError::Superseded {
            server: link.spec.server_name.clone(),
        })
    }
}

async fn converge_on(
    connector: &Connector,
    link: &ResolvedLink,
    mode: ConvergeMode,
    local: &mut Client,
) -> Result<LinkChanges, ConvergeError> {
    let mut spec = link.spec.clone();
    let spec = &mut spec;
    let started = Instant::now();

    let mut remote = connector.connect(&link.remote_admin).await?;
    let remote_side = plan_remote_side(connector, link, spec, &remote).await?;
    if !remote_side.skipped.is_empty() {
        tracing::warn!(tables = %remote_side.skipped.join(", "), "left out: the remote admin may not grant SELECT on these (OnUngrantable: Skip)");
    }
    let local_state = read_local_side(connector, link, spec, local, &remote_side).await?;
    if !spec.server_options.contains_key(SSLROOTCERT) {
        let current = local_state.server.as_ref().and_then(|s| s.options.get(SSLROOTCERT));
        let found = find_remote_ca(local, spec, current.map(String::as_str)).await?;
        spec.server_options.insert(SSLROOTCERT.into(), found);
    }
    let local_plan = plan_local_side(spec, &local_state, &remote_side)?;
    tracing::info!(
        remote_statements = remote_side.statements.len(),
        local_statements = local_plan.statements.len(),
        tables = remote_side.exposed.len(),
        to_analyze = local_plan.to_analyze.len(),
        ms = started.elapsed().as_millis() as u64,
        "planned"
    );
    if mode == ConvergeMode::DryRun {
        return Ok(changes(&remote_side, &local_plan));
    }

    let lock = SessionLock::acquire(&remote).await.map_err(sql(REMOTE))?;
    let applied = async {
        let side = plan_remote_side(connector, link, spec, &remote).await?;
        apply(connector, link, &link.remote_admin, &mut remote, &side.statements)
            .await
            .map_err(sql(REMOTE))?;
        Ok::<_, ConvergeError>(side)
    }
    .await;
    lock.release(&remote).await;
    let remote_side = applied?;
    // The local side reaches the remote cluster through the foreign server: on
    // the readers, it must wait for them to replay what the writer just took.
    if let (Some(reader), false) = (&link.remote_reader, remote_side.statements.is_empty()) {
        wait_for_reader(connector, &link.fdw_login, reader, &remote_side.exposed).await?;
    }

    let lock = SessionLock::acquire(local).await.map_err(sql(LOCAL))?;
    let applied = async {
        let state = read_local_side(connector, link, spec, local, &remote_side).await?;
        let plan = plan_local_side(spec, &state, &remote_side)?;
        apply(connector, link, &link.local_admin, local, &plan.statements)
            .await
            .map_err(local_sql)?;
        analyze(local, &plan.to_analyze).await.map_err(local_sql)?;
        Ok::<_, ConvergeError>(plan)
    }
    .await;
    lock.release(local).await;
    Ok(changes(&remote_side, &applied?))
}

/// The remote cluster as read, and what it needs.
struct RemoteSide {
    state: RemoteState,
    exposed: Vec<ExposedTable>,
    skipped: Vec<String>,
    statements: Vec<Statement>,
}

/// The local cluster's statements, and the foreign tables to ANALYZE after them.
struct LocalSide {
    statements: Vec<Statement>,
    to_analyze: Vec<(String, String)>,
}

async fn plan_remote_side(
    connector: &Connector,
    link: &ResolvedLink,
    spec: &LinkSpec,
    remote: &Client,
) -> Result<RemoteSide, ConvergeError> {
    let mut state = read_remote(remote, spec).await.map_err(sql(REMOTE))?;
    let login_role = if spec.logs_in_as_clone() {
        &state.clone_role
    } else {
        &state.fdw_role
    };
    if login_role.is_some() {
        state.fdw_password_works = probe_login(connector, &link.fdw_login).await?.password_works();
    }
    let skipped = skipped_tables(spec, &state)?;
    let exposed = exposed_tables(spec, &state)?;
    let statements = plan_remote(spec, &state, &exposed)?;
    Ok(RemoteSide {
        state,
        exposed,
        skipped,
        statements,
    })
}

/// The local catalog as the plan needs it: the link's objects, which report
/// roles' passwords work, and the types the remote columns use.
async fn read_local_side(
    connector: &Connector,
    link: &ResolvedLink,
    spec: &LinkSpec,
    local: &Client,
    remote: &RemoteSide,
) -> Result<LocalState, ConvergeError> {
    let mut state = read_local(local, spec).await.map_err(sql(LOCAL))?;
    for target in &link.report_logins {
        if state.reports.roles.contains_key(&target.user) && probe_login(connector, target).await?.password_works() {
            state.reports.passwords_work.insert(target.user.clone());
        }
    }
    let wanted_types: Vec<_> = remote.state.types.keys().cloned().collect();
    (state.types, state.type_schemas) = read_local_types(local, spec, &wanted_types).await.map_err(sql(LOCAL))?;
    Ok(state)
}

fn plan_local_side(spec: &LinkSpec, state: &LocalState, remote: &RemoteSide) -> Result<LocalSide, LinkPlanError> {
    let plan = plan_local(spec, &remote.state, state, &remote.exposed)?;
    let mut to_analyze = plan.imported.clone();
    to_analyze.extend(moved_tables(&remote.exposed, &remote.state, state, &plan.imported));
    Ok(LocalSide {
        statements: plan.statements,
        to_analyze,
    })
}

fn changes(remote: &RemoteSide, local: &LocalSide) -> LinkChanges {
    LinkChanges {
        remote: shown(&remote.statements),
        local: shown(&local.statements),
        table_count: remote.exposed.len(),
        analyzed: local.to_analyze.len(),
        skipped: remote.skipped.clone(),
    }
}

/// Removes what the link made: the local side first (nothing may use the
/// remote role after), then the remote role. What it did not make stays. Each
/// side is read, planned and applied under fdw-bridge's lock on its cluster.
pub async fn remove(connector: &Connector, link: &ResolvedLink) -> Result<LinkChanges, ConvergeError> {
    let holder = connector.connect(&link.local_admin).await?;
    let lock = LinkLock::acquire(&holder, &link.spec.server_name)
        .await
        .map_err(sql(LOCAL))?;
    let result = remove_holding(connector, link).await;
    lock.release(&holder).await;
    result
}

async fn remove_holding(connector: &Connector, link: &ResolvedLink) -> Result<LinkChanges, ConvergeError> {
    let spec = &link.spec;

    let mut local = connector.connect(&link.local_admin).await?;
    let lock = SessionLock::acquire(&local).await.map_err(sql(LOCAL))?;
    let removed = async {
        let mut state = read_local(&local, spec).await.map_err(sql(LOCAL))?;
        (state.types, state.type_schemas) = read_local_types(&local, spec, &[]).await.map_err(sql(LOCAL))?;
        let plan = plan_local_removal(spec, &state)?;
        apply(connector, link, &link.local_admin, &mut local, &plan)
            .await
            .map_err(sql(LOCAL))?;
        Ok::<_, ConvergeError>(plan)
    }
    .await;
    lock.release(&local).await;
    let local_plan = removed?;

    let mut remote = connector.connect(&link.remote_admin).await?;
    let lock = SessionLock::acquire(&remote).await.map_err(sql(REMOTE))?;
    let removed = async {
        let state = read_remote(&remote, spec).await.map_err(sql(REMOTE))?;
        let plan = plan_remote_removal(spec, &state);
        apply(connector, link, &link.remote_admin, &mut remote, &plan)
            .await
            .map_err(sql(REMOTE))?;
        Ok::<_, ConvergeError>(plan)
    }
    .await;
    lock.release(&remote).await;
    Ok(LinkChanges {
        remote: shown(&removed?),
        local: shown(&local_plan),
        ..Default::default()
    })
}

/// One transaction on one cluster, each statement waiting at most the link's
/// lock timeout; a second session names the blockers if it comes to that.
async fn apply(
    connector: &Connector,
    link: &ResolvedLink,
    target: &ConnectTarget,
    client: &mut Client,
    statements: &[Statement],
) -> Result<(), PgError> {
    let watch = LockWatch { connector, target };
    apply_with_lock_timeout(client, statements, link.lock_timeout, Some(watch))
        .await
        .map_err(|e| with_admin_option_advice(e, &target.user))
}

fn shown(statements: &[Statement]) -> Vec<String> {
    statements.iter().map(|s| s.shown().to_string()).collect()
}
