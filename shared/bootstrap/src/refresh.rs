//! The refresh: CloudFormation sends an Update only when a property changes,
//! so a table added on the remote cluster, a column added or retyped there, a
//! new enum label, or statistics gone stale stay invisible on the local
//! cluster until someone edits the template. The refresh (an EventBridge
//! schedule, or an operator) reads every link stored in the local cluster's
//! registry (`fdw_bridge.links`), converges each one exactly as an Update with
//! the same properties would, and reports the drift it found: a log line and
//! an EMF metric per link (`LinkDrift`, statements planned). A failed link
//! fails the invocation (`RefreshFailed`) after the others were refreshed.
//!
//! Credentials are left to rotation: the refresh logs in to the remote cluster
//! as the user cluster A's mappings hold now, not as the secret's AWSCURRENT,
//! so a refresh between setSecret and finishSecret (or after an abandoned
//! rotation) never moves the mappings back.

use super::budget::align_budget;
use super::converge::{converge, ConvergeError, ConvergeMode, LinkChanges};
use super::custom_resource::Bootstrap;
use super::properties;
use super::refresh_event::RefreshRequest;
use super::resolve::{resolve_link, resolve_local_admin, ResolveLinkError, ResolvedLink};
use fdw_bridge_link::inspect::read_registry;
use fdw_bridge_link::spec::{Password, Registration};
use fdw_bridge_link::state::StoredLink;
use fdw_bridge_pg::role::RolePair;
use fdw_bridge_pg::{error_chain, mapping_login, ConnectError, PgError};
use fdw_bridge_runtime::diagnostic::{self as kind, pg_error_type, Classified};
use fdw_bridge_runtime::emf::{self, COUNT, MILLISECONDS};
use fdw_bridge_runtime::retry::{last_attempt_start, retry, Outage, Retrier};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::time::Instant;
use tokio_postgres::Client;

/// Time kept back from the Lambda deadline to log and answer.
const REFRESH_MARGIN: Duration = Duration::from_secs(5);

/// How many planned statements the answer lists per link (all are in the log).
const LISTED_STATEMENTS: usize = 20;

/// What the refresh did to one link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkRefresh {
    pub server_name: String,
    pub link_id: String,
    /// Statements planned on both clusters: 0 when nothing drifted.
    pub drift: usize,
    /// Foreign tables analyzed (or, in a dry run, to analyze).
    pub analyzed: usize,
    /// The planned statements as shown (passwords redacted).
    pub statements: Vec<String>,
    pub duration_ms: u64,
    /// Why the link could not be refreshed, and the stable kind of failure.
    pub error: Option<(String, &'static str)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshOutcome {
    pub dry_run: bool,
    pub links: Vec<LinkRefresh>,
}

impl RefreshOutcome {
    /// The invocation's answer.
    pub fn to_json(&self) -> Value {
        json!({
            "Action": "Refresh",
            "DryRun": self.dry_run,
            "Links": self.links.iter().map(|l| json!({
                "ServerName": l.server_name,
                "LinkId": l.link_id,
                "Drift": l.drift,
                "Analyzed": l.analyzed,
                "Statements": l.statements.iter().take(LISTED_STATEMENTS).collect::<Vec<_>>(),
                "DurationMs": l.duration_ms,
                "Error": l.error.as_ref().map(|(message, _)| message),
            })).collect::<Vec<_>>(),
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error("{0}")]
    InvalidEvent(String),
    #[error(transparent)]
    Resolve(#[from] ResolveLinkError),
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("local cluster: {0}")]
    Registry(PgError),
    #[error("local cluster {}", .outage.explain(source))]
    Outage {
        outage: Outage,
        #[source]
        source: Box<RefreshError>,
    },
    #[error("{failed} of {total} link(s) could not be refreshed (the others were): {details}")]
    LinksFailed {
        failed: usize,
        total: usize,
        details: String,
        outcome: RefreshOutcome,
    },
}

/// The CloudWatch Embedded Metric Format line for one link's refresh
/// (namespace FdwBridge, dimension Link): LinkDrift, Analyzed, RefreshFailed, DurationMs.
pub fn refresh_metric_line(link: &LinkRefresh, dry_run: bool, timestamp_ms: i64) -> Value {
    emf::line(
        "Link",
        &[
            ("LinkDrift", COUNT),
            ("Analyzed", COUNT),
            ("RefreshFailed", COUNT),
            ("DurationMs", MILLISECONDS),
        ],
        timestamp_ms,
        json!({
            "Link": link.server_name,
            "LinkDrift": link.drift,
            "Analyzed": link.analyzed,
            "RefreshFailed": u8::from(link.error.is_some()),
            "DurationMs": link.duration_ms,
            "DryRun": dry_run,
        }),
    )
}

impl Bootstrap {
    /// Refreshes every link stored on the request's local cluster (or those it
    /// names), one after the other, until `deadline` less a margin.
    pub async fn refresh(&self, request: &RefreshRequest, deadline: Instant) -> Result<RefreshOutcome, RefreshError> {
        let work_until = deadline.checked_sub(REFRESH_MARGIN).unwrap_or(deadline);
        let admin = resolve_local_admin(&request.local, self.secrets.as_ref(), self.endpoints.as_ref()).await?;
        // A failover of either cluster is waited for (the one retry policy) while
        // an attempt can still finish before the work is cut off.
        let attempts_until = last_attempt_start(work_until.into_std(), self.connector.timeout());
        let mut retrier = Retrier::new("refresh: reading the links stored on the local cluster", attempts_until);
        let (client, stored) = retry(&mut retrier, || async {
            let client = self.connector.connect(&admin).await.map_err(RefreshError::Connect)?;
            let stored = read_registry(&client).await.map_err(RefreshError::Registry)?;
            Ok::<_, RefreshError>((client, stored))
        })
        .await
        .map_err(|e| match retrier.outage_behind(&e) {
            Some(outage) => RefreshError::Outage {
                outage,
                source: Box::new(e),
            },
            None => e,
        })?;
        let mut links: Vec<StoredLink> = stored.map(|r| r.links.into_values().collect()).unwrap_or_default();
        if !request.server_names.is_empty() {
            for name in &request.server_names {
                if !links.iter().any(|l| &l.server_name == name) {
                    return Err(RefreshError::InvalidEvent(format!(
                        "ServerNames: no link named {name:?} is stored on {} (fdw_bridge.links): it is made by a Create or Update of its Custom::FdwLink",
                        admin.label
                    )));
                }
            }
            links.retain(|l| request.server_names.contains(&l.server_name));
        }
        tracing::info!(links = links.len(), dry_run = request.dry_run, "refresh");
        let mode = if request.dry_run {
            ConvergeMode::DryRun
        } else {
            ConvergeMode::Apply
        };
        let mut outcome = RefreshOutcome {
            dry_run: request.dry_run,
            links: Vec::new(),
        };
        let too_late = || {
            (
                "did not finish before the Lambda timeout: raise the function's Timeout, or refresh fewer links per \
                 invocation (ServerNames)"
                    .to_string(),
                kind::REFRESH_FAILED,
            )
        };
        // First pass, every link: resolved, and its budget on the remote
        // cluster re-derived from what that cluster holds now (it changes at a
        // restart), before any link's slower work runs or fails.
        let mut resolved = Vec::new();
        for stored in &links {
            let link = tokio::time::timeout_at(work_until, self.resolve_stored(&client, stored))
                .await
                .unwrap_or_else(|_| Err(too_late()));
            let budget = match &link {
                Ok(link) => tokio::time::timeout_at(work_until, check_budget(&self.connector, link, !request.dry_run))
                    .await
                    .unwrap_or_default(),
                Err(_) => Vec::new(),
            };
            // A dry run's convergence plans the same limits again: list them once.
            let budget = if request.dry_run { Vec::new() } else { budget };
            resolved.push((link, budget));
        }
        for (stored, (link, budget)) in links.iter().zip(resolved) {
            let started = std::time::Instant::now();
            let result = match link {
                Ok(link) => tokio::time::timeout_at(work_until, async {
                    let mut retrier = Retrier::new(format!("refresh of link {}", stored.server_name), attempts_until);
                    match retry(&mut retrier, || converge(&self.connector, &link, mode)).await {
                        // A Create, Update or Delete of it ran meanwhile: that run is newer.
                        Err(superseded @ ConvergeError::Superseded { .. }) => {
                            tracing::info!(server = %stored.server_name, "{superseded}");
                            Ok(LinkChanges::default())
                        }
                        result => result.map_err(|e| (retrier.explain(&e, &error_chain(&e)), e.error_type())),
                    }
                })
                .await
                .unwrap_or_else(|_| Err(too_late())),
                Err(e) => Err(e),
            };
            let changes = result.as_ref().ok();
            let link = LinkRefresh {
                server_name: stored.server_name.clone(),
                link_id: stored.link_id.clone(),
                drift: budget.len() + changes.map_or(0, LinkChanges::statement_count),
                analyzed: changes.map_or(0, |c| c.analyzed),
                statements: budget
                    .iter()
                    .chain(changes.map_or(&[][..], |c| &c.remote[..]))
                    .chain(changes.map_or(&[][..], |c| &c.local[..]))
                    .cloned()
                    .collect(),
                duration_ms: started.elapsed().as_millis() as u64,
                error: result.err(),
            };
            log_link(&link, request.dry_run);
            outcome.links.push(link);
        }
        let failed: Vec<&LinkRefresh> = outcome.links.iter().filter(|l| l.error.is_some()).collect();
        if failed.is_empty() {
            return Ok(outcome);
        }
        Err(RefreshError::LinksFailed {
            failed: failed.len(),
            total: outcome.links.len(),
            details: failed
                .iter()
                .map(|l| {
                    format!(
                        "{}: {}",
                        l.server_name,
                        l.error.as_ref().map(|(m, _)| m.as_str()).unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
            outcome,
        })
    }

    /// One stored link: its stored properties resolved as an Update would,
    /// with the credentials in use on the local cluster.
    async fn resolve_stored(
        &self,
        local_admin: &Client,
        stored: &StoredLink,
    ) -> Result<ResolvedLink, (String, &'static str)> {
        let props = properties::parse(&stored.properties).map_err(|e| {
            (
                format!(
                    "its stored properties are no longer valid ({e}): run an Update of the stack, or delete its row from fdw_bridge.links"
                ),
                kind::INVALID_EVENT,
            )
        })?;
        let origin = Registration {
            stack_id: stored.stack_id.clone(),
            logical_resource_id: stored.logical_resource_id.clone(),
            properties: stored.properties.clone(),
        };
        let mut link = resolve_link(&props, origin, self.secrets.as_ref(), self.endpoints.as_ref())
            .await
            .map_err(|e| (error_chain(&e), e.error_type()))?;
        keep_credentials_in_use(local_admin, &mut link)
            .await
            .map_err(|e| (format!("local cluster: {e}"), pg_error_type(&e, kind::REFRESH_FAILED)))?;
        link.resolved_from_stored = Some(stored.properties.clone());
        Ok(link)
    }
}

/// The budget pass for one link: the statements applied (or planned), each
/// logged with what the remote cluster holds. A failure is logged only: the
/// link's convergence next aligns the same limits, or fails naming the cause.
async fn check_budget(connector: &fdw_bridge_pg::Connector, link: &ResolvedLink, apply: bool) -> Vec<String> {
    let server = &link.spec.server_name;
    match align_budget(connector, link, apply).await {
        Ok(check) if check.statements.is_empty() => {
            tracing::info!(server = %server, ordinary_slots = check.connection_budget, remote_started_at = %check.started_at, "the link's budget fits the remote cluster");
            Vec::new()
        }
        Ok(check) => {
            tracing::warn!(
                server = %server,
                ordinary_slots = check.connection_budget,
                remote_started_at = %check.started_at,
                applied = apply,
                statements = %check.statements.join("; "),
                "the remote cluster holds another number of connections than the link's budget was sized for \
                 (a restart with other settings): budget re-derived first"
            );
            check.statements
        }
        Err(e) => {
            tracing::warn!(server = %server, error = %error_chain(&e), "could not check the link's budget on the remote cluster first; the link's convergence tries again");
            Vec::new()
        }
    }
}

/// Points the link at the user and password A's user mappings hold now (when
/// they belong to the link's FDW role pair), so that the refresh leaves
/// credentials as rotation left them.
async fn keep_credentials_in_use(local_admin: &Client, link: &mut ResolvedLink) -> Result<(), PgError> {
    let Some(login) = mapping_login(local_admin, &link.spec.server_name).await? else {
        return Ok(());
    };
    let (user, Some(password)) = (login.user, login.password) else {
        return Ok(());
    };
    if RolePair::of(&user).base != link.spec.fdw_user {
        tracing::warn!(server = %link.spec.server_name, mapping_user = %user, "the local admin's mapping logs in as a role outside the link's FDW role pair: the refresh uses the secret's");
        return Ok(());
    }
    if user != link.spec.login_user {
        tracing::info!(server = %link.spec.server_name, in_use = %user, secret = %link.spec.login_user, "the mappings log in as the other user of the pair (a rotation is under way or was abandoned): the refresh keeps them");
    }
    link.spec.login_user = user.clone();
    link.spec.fdw_password = Password(password.clone());
    link.fdw_login.user = user;
    link.fdw_login.password = password;
    link.fdw_login.credential_source = "the local admin's user mapping on cluster A".into();
    Ok(())
}

fn log_link(link: &LinkRefresh, dry_run: bool) {
    emf::print(&refresh_metric_line(link, dry_run, emf::now_ms()));
    match &link.error {
        None => tracing::info!(
            server = %link.server_name,
            drift = link.drift,
            analyzed = link.analyzed,
            dry_run,
            ms = link.duration_ms,
            statements = %link.statements.join("; "),
            "{}",
            match (link.drift, dry_run) {
                (0, _) => "link refreshed: no drift",
                (_, true) => "link drifted (dry run: nothing applied)",
                (_, false) => "link drifted: converged",
            }
        ),
        Some((message, error_type)) => tracing::error!(
            server = %link.server_name,
            error_type,
            ms = link.duration_ms,
            "link refresh failed: {message}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_metric_line_carries_drift_and_failure_under_the_link_dimension() {
        let link = LinkRefresh {
            server_name: "orders_link".into(),
            link_id: "fdw-link/x".into(),
            drift: 3,
            analyzed: 1,
            statements: vec!["x".into()],
            duration_ms: 42,
            error: None,
        };
        let line = refresh_metric_line(&link, false, 1_700_000_000_000);
        let def = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(def["Dimensions"], json!([["Link"]]));
        for m in def["Metrics"].as_array().unwrap() {
            assert!(line[m["Name"].as_str().unwrap()].is_number());
        }
        assert_eq!(
            (line["LinkDrift"].as_u64(), line["RefreshFailed"].as_u64()),
            (Some(3), Some(0))
        );
        let failed = LinkRefresh {
            error: Some(("x".into(), kind::REFRESH_FAILED)),
            ..link
        };
        assert_eq!(refresh_metric_line(&failed, true, 0)["RefreshFailed"].as_u64(), Some(1));
    }

    #[test]
    fn the_answer_lists_at_most_twenty_statements() {
        let outcome = RefreshOutcome {
            dry_run: true,
            links: vec![LinkRefresh {
                server_name: "l".into(),
                link_id: "i".into(),
                drift: 30,
                analyzed: 0,
                statements: (0..30).map(|i| format!("s{i}")).collect(),
                duration_ms: 1,
                error: None,
            }],
        };
        let v = outcome.to_json();
        assert_eq!(v["Links"][0]["Statements"].as_array().unwrap().len(), 20);
        assert_eq!(v["Links"][0]["Drift"], 30);
    }
}
