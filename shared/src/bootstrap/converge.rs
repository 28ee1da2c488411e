//! Bringing both clusters to the desired state, or removing the link: read the
//! catalogs, plan with the pure planner, apply one transaction per cluster.

use super::resolve::ResolvedLink;
use crate::link::analyze::analyze;
use crate::link::inspect::{read_local, read_local_types, read_remote};
use crate::link::plan::{
    exposed_tables, moved_tables, plan_local, plan_local_removal, plan_remote, plan_remote_removal, skipped_tables,
    LinkPlanError,
};
use crate::link::remote_ca::{find_remote_ca, RemoteCaError};
use crate::pg::sql::Statement;
use crate::pg::{apply_with_lock_timeout, probe_login, ConnectError, ConnectTarget, Connector, LockWatch, PgError};
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
    if !source.code.as_ref().is_some_and(|c| c.code().starts_with("08")) {
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
/// Foreign tables imported by the run, and those whose remote row count moved
/// past autovacuum's threshold since their last ANALYZE, are analyzed after.
pub async fn converge(
    connector: &Connector,
    link: &ResolvedLink,
    mode: ConvergeMode,
) -> Result<LinkChanges, ConvergeError> {
    let mut spec = link.spec.clone();
    let spec = &mut spec;
    let started = Instant::now();

    let mut remote = connector.connect(&link.remote_admin).await?;
    let mut remote_state = read_remote(&remote, spec).await.map_err(sql(REMOTE))?;
    let login_role = if spec.logs_in_as_clone() {
        &remote_state.clone_role
    } else {
        &remote_state.fdw_role
    };
    if login_role.is_some() {
        remote_state.fdw_password_works = probe_login(connector, &link.fdw_login).await?.password_works();
    }
    let skipped = skipped_tables(spec, &remote_state)?;
    if !skipped.is_empty() {
        tracing::warn!(tables = %skipped.join(", "), "left out: the remote admin may not grant SELECT on these (OnUngrantable: Skip)");
    }
    let exposed = exposed_tables(spec, &remote_state)?;
    let remote_plan = plan_remote(spec, &remote_state, &exposed)?;

    let mut local = connector.connect(&link.local_admin).await?;
    let mut local_state = read_local(&local, spec).await.map_err(sql(LOCAL))?;
    for target in &link.report_logins {
        if local_state.reports.roles.contains_key(&target.user)
            && probe_login(connector, target).await?.password_works()
        {
            local_state.reports.passwords_work.insert(target.user.clone());
        }
    }
    if !spec.server_options.contains_key(SSLROOTCERT) {
        let current = local_state
            .server
            .as_ref()
            .and_then(|s| s.options.get(SSLROOTCERT))
            .map(String::as_str);
        let found = find_remote_ca(&mut local, spec, current).await?;
        spec.server_options.insert(SSLROOTCERT.into(), found);
    }
    let wanted_types: Vec<_> = remote_state.types.keys().cloned().collect();
    (local_state.types, local_state.type_schemas) = read_local_types(&local, spec, &wanted_types)
        .await
        .map_err(sql(LOCAL))?;
    let local_plan = plan_local(spec, &remote_state, &local_state, &exposed)?;
    let mut to_analyze = local_plan.imported.clone();
    to_analyze.extend(moved_tables(
        &exposed,
        &remote_state,
        &local_state,
        &local_plan.imported,
    ));
    tracing::info!(
        remote_statements = remote_plan.len(),
        local_statements = local_plan.statements.len(),
        tables = exposed.len(),
        to_analyze = to_analyze.len(),
        ms = started.elapsed().as_millis() as u64,
        "planned"
    );
    let changes = LinkChanges {
        remote: shown(&remote_plan),
        local: shown(&local_plan.statements),
        table_count: exposed.len(),
        analyzed: to_analyze.len(),
        skipped,
    };
    if mode == ConvergeMode::DryRun {
        return Ok(changes);
    }

    apply(connector, link, &link.remote_admin, &mut remote, &remote_plan)
        .await
        .map_err(sql(REMOTE))?;
    apply(connector, link, &link.local_admin, &mut local, &local_plan.statements)
        .await
        .map_err(local_sql)?;
    analyze(&local, &to_analyze).await.map_err(local_sql)?;
    Ok(changes)
}

/// Removes what the link made: the local side first (nothing may use the
/// remote role after), then the remote role. What it did not make stays.
pub async fn remove(connector: &Connector, link: &ResolvedLink) -> Result<LinkChanges, ConvergeError> {
    let spec = &link.spec;

    let mut local = connector.connect(&link.local_admin).await?;
    let mut local_state = read_local(&local, spec).await.map_err(sql(LOCAL))?;
    (local_state.types, local_state.type_schemas) = read_local_types(&local, spec, &[]).await.map_err(sql(LOCAL))?;
    let local_plan = plan_local_removal(spec, &local_state)?;
    apply(connector, link, &link.local_admin, &mut local, &local_plan)
        .await
        .map_err(sql(LOCAL))?;

    let mut remote = connector.connect(&link.remote_admin).await?;
    let remote_state = read_remote(&remote, spec).await.map_err(sql(REMOTE))?;
    let remote_plan = plan_remote_removal(spec, &remote_state);
    apply(connector, link, &link.remote_admin, &mut remote, &remote_plan)
        .await
        .map_err(sql(REMOTE))?;
    Ok(LinkChanges {
        remote: shown(&remote_plan),
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
    apply_with_lock_timeout(client, statements, link.lock_timeout, Some(watch)).await
}

fn shown(statements: &[Statement]) -> Vec<String> {
    statements.iter().map(|s| s.shown().to_string()).collect()
}
