//! Bringing both clusters to the desired state, or removing the link: read the
//! catalogs, plan with the pure planner, apply one transaction per cluster.

use super::resolve::ResolvedLink;
use crate::connect::{ConnectError, Connector};
use crate::link::apply::{analyze, apply_in_transaction};
use crate::link::catalog::{read_local, read_remote};
use crate::link::plan::{exposed_tables, plan_local, plan_local_removal, plan_remote, plan_remote_removal, PlanError};
use crate::pg_error::PgError;
use crate::sql::Statement;
use std::time::Instant;

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
    Plan(#[from] PlanError),
}

/// What a run did, for the response and the log.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Statements applied on the remote cluster, as shown (passwords redacted).
    pub remote: Vec<String>,
    /// Statements applied on the local cluster, as shown.
    pub local: Vec<String>,
    /// Foreign tables the link exposes after the run.
    pub table_count: usize,
    /// Foreign tables ANALYZEd in this run.
    pub analyzed: usize,
}

impl Outcome {
    pub fn statement_count(&self) -> usize {
        self.remote.len() + self.local.len()
    }
}

fn sql(cluster: &'static str) -> impl Fn(PgError) -> ConvergeError {
    move |source| ConvergeError::Sql { cluster, source }
}

/// One advisory lock for all of fdw-bridge's changes on a cluster: links that
/// share a database grant on the same catalog rows, and PostgreSQL refuses
/// concurrent GRANTs on one object ("tuple concurrently updated").
const LOCK_KEY: &str = "fdw-bridge";

const REMOTE: &str = "remote cluster";
const LOCAL: &str = "local cluster";

/// Creates or converges the link. Both sides are planned before either is
/// changed, so a refusal on the local side leaves the remote side untouched.
pub async fn converge(connector: &Connector, link: &ResolvedLink) -> Result<Outcome, ConvergeError> {
    let spec = &link.spec;
    let started = Instant::now();

    let mut remote = connector.connect(&link.remote_admin).await?;
    let mut remote_state = read_remote(&remote, spec).await.map_err(sql(REMOTE))?;
    let login_role = if spec.logs_in_as_clone() {
        &remote_state.clone_role
    } else {
        &remote_state.fdw_role
    };
    if login_role.is_some() {
        remote_state.fdw_password_works = fdw_password_works(connector, link).await?;
    }
    let exposed = exposed_tables(spec, &remote_state)?;
    let remote_plan = plan_remote(spec, &remote_state, &exposed)?;

    let mut local = connector.connect(&link.local_admin).await?;
    let local_state = read_local(&local, spec).await.map_err(sql(LOCAL))?;
    let local_plan = plan_local(spec, &local_state, &exposed)?;
    tracing::info!(
        remote_statements = remote_plan.len(),
        local_statements = local_plan.statements.len(),
        tables = exposed.len(),
        ms = started.elapsed().as_millis() as u64,
        "planned"
    );

    apply_in_transaction(&mut remote, LOCK_KEY, &remote_plan)
        .await
        .map_err(sql(REMOTE))?;
    apply_in_transaction(&mut local, LOCK_KEY, &local_plan.statements)
        .await
        .map_err(sql(LOCAL))?;
    analyze(&local, &local_plan.imported).await.map_err(sql(LOCAL))?;
    Ok(Outcome {
        remote: shown(&remote_plan),
        local: shown(&local_plan.statements),
        table_count: exposed.len(),
        analyzed: local_plan.imported.len(),
    })
}

/// Removes what the link made: the local side first (nothing may use the
/// remote role after), then the remote role. What it did not make stays.
pub async fn remove(connector: &Connector, link: &ResolvedLink) -> Result<Outcome, ConvergeError> {
    let spec = &link.spec;

    let mut local = connector.connect(&link.local_admin).await?;
    let local_state = read_local(&local, spec).await.map_err(sql(LOCAL))?;
    let local_plan = plan_local_removal(spec, &local_state)?;
    apply_in_transaction(&mut local, LOCK_KEY, &local_plan)
        .await
        .map_err(sql(LOCAL))?;

    let mut remote = connector.connect(&link.remote_admin).await?;
    let remote_state = read_remote(&remote, spec).await.map_err(sql(REMOTE))?;
    let remote_plan = plan_remote_removal(spec, &remote_state);
    apply_in_transaction(&mut remote, LOCK_KEY, &remote_plan)
        .await
        .map_err(sql(REMOTE))?;
    Ok(Outcome {
        remote: shown(&remote_plan),
        local: shown(&local_plan),
        ..Default::default()
    })
}

/// Whether the FDW role's stored password still logs in: a refused login
/// (SQLSTATE class 28) means it must be set again; a login refused only for
/// lack of CONNECT (42501) proves the password right.
async fn fdw_password_works(connector: &Connector, link: &ResolvedLink) -> Result<bool, ConvergeError> {
    match connector.connect(&link.fdw_login).await {
        Ok(_) => Ok(true),
        Err(ConnectError::Auth { .. }) => Ok(false),
        Err(ConnectError::Other {
            sqlstate: Some(code), ..
        }) if code == "42501" => Ok(true),
        Err(e) => Err(e.into()),
    }
}

fn shown(statements: &[Statement]) -> Vec<String> {
    statements.iter().map(|s| s.shown().to_string()).collect()
}
