//! The four steps against the real clusters and Secrets Manager. Decisions are
//! in [`super::stages`] and [`super::plan`]; this file only reads, calls and applies.

use super::error::{RotateError, RotationFailure};
use super::event;
use super::inspect;
use super::plan::{budget_warning, check_pending_user, plan_mappings, plan_pending_role, MappedRole};
use super::secret::{RotationSecret, Strategy};
use super::stages::{check, finish_move, pending_left_on, Decision, SecretMetadata, Step, AWSCURRENT, AWSPENDING};
use super::store::RotationStore;
use fdw_bridge_aws::SecretSource;
use fdw_bridge_pg::role::RolePair;
use fdw_bridge_pg::sql::Statement;
use fdw_bridge_pg::{
    apply_in_transaction, mapping_login, prepare_in_transaction, probe_login, wait_for_login, with_admin_option_advice,
    ConnectTarget, Connector, Endpoint, Login, PgError, DEFAULT_LOCK_TIMEOUT,
};
use fdw_bridge_runtime::retry::{last_attempt_start, retry, Retrier};
use fdw_bridge_runtime::target::target_from_secret;
use std::sync::Arc;
use tokio_postgres::Client;

/// Clients built once per cold start.
#[derive(Clone)]
pub struct Rotator {
    pub connector: Connector,
    pub store: Arc<dyn RotationStore>,
    /// The admin secrets (masterarn on B, local.adminarn on A).
    pub secrets: Arc<dyn SecretSource>,
}

/// What a step did, for the log and the invocation's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepOutcome {
    pub step: Step,
    pub did: String,
}

impl Rotator {
    /// One Lambda invocation: the event read, its step run. A failure fails the
    /// invocation (Secrets Manager then retries the rotation); Lambda reports it
    /// through `From<RotationFailure> for Diagnostic`.
    /// A step that meets a failover, a restart or no free slot on either
    /// cluster is run again (the one retry policy) while an attempt can still
    /// finish before `deadline`.
    pub async fn handle_event(
        &self,
        event: &serde_json::Value,
        deadline: std::time::Instant,
    ) -> Result<serde_json::Value, RotationFailure> {
        let event = event::parse(event)?;
        let step = event.step.to_string();
        let attempts_until = last_attempt_start(deadline, self.connector.timeout());
        match self
            .handle_until(&step, &event.secret_id, &event.token, attempts_until)
            .await
        {
            Ok(outcome) => Ok(serde_json::json!({ "Step": step, "Result": outcome.did })),
            Err(source) => {
                let failure = RotationFailure::Step {
                    step: event.step,
                    secret: event.secret_id,
                    source,
                };
                tracing::error!("{failure}");
                Err(failure)
            }
        }
    }

    /// [`Self::handle`], again while it fails for a reason that passes, until `until`.
    pub async fn handle_until(
        &self,
        step: &str,
        id: &str,
        token: &str,
        until: std::time::Instant,
    ) -> Result<StepOutcome, RotateError> {
        let mut retrier = Retrier::new(format!("{step} for secret {id}"), until);
        retry(&mut retrier, || self.handle(step, id, token))
            .await
            .map_err(|e| match retrier.outage_behind(&e) {
                Some(outage) => RotateError::Outage {
                    outage,
                    source: Box::new(e),
                },
                None => e,
            })
    }

    /// Runs one step for version `token` of secret `id`, after the reference checks: one attempt.
    pub async fn handle(&self, step: &str, id: &str, token: &str) -> Result<StepOutcome, RotateError> {
        let step = Step::parse(step)?;
        let meta = self.store.describe(id).await?;
        let did = match check(id, token, &meta)? {
            Decision::AlreadyCurrent if step == Step::Finish && pending_left_on(token, &meta) => {
                self.store.clear_pending(id, token).await?;
                format!("version {token} is already AWSCURRENT; AWSPENDING taken off it")
            }
            Decision::AlreadyCurrent => format!("version {token} is already AWSCURRENT: nothing to do"),
            Decision::Run => match step {
                Step::Create => self.create(id, token).await?,
                Step::Set => self.set(id, token).await?,
                Step::Test => self.test(id, token).await?,
                Step::Finish => self.finish(id, token, &meta).await?,
            },
        };
        tracing::info!(step = %step, secret = id, version = token, "{did}");
        Ok(StepOutcome { step, did })
    }

    async fn current(&self, id: &str) -> Result<RotationSecret, RotateError> {
        let text = self
            .store
            .get(id, None, AWSCURRENT)
            .await?
            .ok_or_else(|| RotateError::NoCurrent { id: id.to_string() })?;
        Ok(RotationSecret::parse(id, AWSCURRENT, &text)?)
    }

    async fn pending(&self, id: &str, token: &str) -> Result<RotationSecret, RotateError> {
        let text = self
            .store
            .get(id, Some(token), AWSPENDING)
            .await?
            .ok_or_else(|| RotateError::NoPending {
                id: id.to_string(),
                token: token.to_string(),
            })?;
        Ok(RotationSecret::parse(
            id,
            &format!("AWSPENDING version {token}"),
            &text,
        )?)
    }

    /// createSecret: a new version with a random password, for the user not in
    /// use (alternating) or the same user (single). A pending value already
    /// there for this version is kept (a retried step). "In use" is what cluster
    /// A's mappings log in as, read after repairing a half-done earlier attempt.
    async fn create(&self, id: &str, token: &str) -> Result<String, RotateError> {
        let current = self.current(id).await?;
        if self.store.get(id, Some(token), AWSPENDING).await?.is_some() {
            return Ok(format!("version {token} already has its AWSPENDING value: kept"));
        }
        let admin = self.local_admin_session(id, &current).await?;
        let (in_use, repaired) = self.in_use_repaired(id, &current, &admin).await?;
        let created = self.write_pending(id, token, &current, in_use.as_deref()).await?;
        Ok(with_repair(repaired, created))
    }

    /// createSecret's write: the pending version for the user not in use.
    pub(super) async fn write_pending(
        &self,
        id: &str,
        token: &str,
        current: &RotationSecret,
        in_use: Option<&str>,
    ) -> Result<String, RotateError> {
        let user = current.next_user_given(in_use);
        let password = self.store.random_password().await?;
        self.store
            .put_pending(id, token, &current.with_credentials(&user, &password))
            .await?;
        Ok(format!("created AWSPENDING version {token} for user {user}"))
    }

    /// The user cluster A's mappings log in as, after repairing a half-done
    /// earlier attempt: when cluster B refuses that login (B's password was
    /// changed, A's mappings were not: a setSecret killed between its two
    /// commits, or a rotation whose pending role was the one in use), B's
    /// password of that role is set back to the one A's mappings hold, so new
    /// FDW connections work again before this step does anything else. Only the
    /// FDW role and its clone are ever touched. Returns the user and, when it
    /// repaired, what it did.
    async fn in_use_repaired(
        &self,
        id: &str,
        secret: &RotationSecret,
        admin: &Client,
    ) -> Result<(Option<String>, Option<String>), RotateError> {
        let login = mapping_login(admin, &secret.server)
            .await
            .map_err(|source| RotateError::Sql {
                cluster: local_label(secret),
                source,
            })?;
        let Some(login) = login else {
            tracing::warn!(server = %secret.server, "no user mapping of the local admin or PUBLIC shows its options: the role in use is taken from the secret");
            return Ok((None, None));
        };
        let pair = roles_of(secret);
        let Some(password) = login.password.filter(|_| pair.contains(&login.user)) else {
            return Ok((Some(login.user), None));
        };
        let target = remote_target(
            secret,
            &login.user,
            &password,
            format!("the user mapping of server {} on cluster A", secret.server),
        );
        if probe_login(&self.connector, &target).await?.password_works() {
            return Ok((Some(login.user), None));
        }
        let (mut master, master_user) = self.master_session(id, secret).await?;
        let sql_error = |source| RotateError::Sql {
            cluster: remote_label(secret),
            source,
        };
        let facts = inspect::remote_facts(&master, &pair, &login.user)
            .await
            .map_err(sql_error)?;
        let statements = plan_pending_role(&pair, &login.user, &password, &facts)?;
        apply_in_transaction(&mut master, &statements)
            .await
            .map_err(|e| sql_error(with_admin_option_advice(e, &master_user)))?;
        let did = format!(
            "repaired a half-done earlier attempt: cluster B refused {} with the password cluster A's mappings hold, so it was set back to that one",
            login.user
        );
        tracing::warn!("{did}");
        Ok((Some(login.user), Some(did)))
    }

    /// setSecret: the pending password on the remote cluster (unless it already
    /// logs in), then every user mapping of the server on the local cluster.
    /// A half-done earlier attempt is repaired first; a pending version for the
    /// role A's mappings use now is refused (alternating). A's mapping change
    /// runs in a transaction opened before B's commit and committed right after
    /// it: with a single user, new FDW connections fail only between the two commits.
    async fn set(&self, id: &str, token: &str) -> Result<String, RotateError> {
        let current = self.current(id).await?;
        let pending = self.pending(id, token).await?;
        check_pending_user(current.strategy, &current.username, &pending.username)?;
        let (mut admin, mapped) = self.local_mappings(id, &pending).await?;
        let reader = self.reader_of_server(id, token, &pending, &admin).await?;
        let (in_use, repaired) = self.in_use_repaired(id, &current, &admin).await?;
        let mut did: Vec<String> = repaired.into_iter().collect();
        // A pending role without CONNECT is set up again too (a clone that lost its grants).
        let login = probe_login(&self.connector, &pending_target(id, token, &pending)).await?;
        if current.strategy == Strategy::Alternating
            && in_use.as_deref() == Some(pending.username.as_str())
            && !login.password_works()
        {
            return Err(RotateError::PendingIsInUse {
                user: pending.username.clone(),
                server: pending.server.clone(),
            });
        }
        let remote = match login {
            Login::Works => {
                did.push(format!(
                    "{} already logs in to cluster B with the pending password",
                    pending.username
                ));
                None
            }
            Login::Refused | Login::NoConnectPrivilege => {
                Some(self.plan_remote_password(id, &current, &pending).await?)
            }
        };
        let statements = plan_mappings(&pending.server, &mapped, &pending.username, &pending.password);
        let local_error = |source| RotateError::Sql {
            cluster: local_label(&pending),
            source,
        };
        let local = prepare_in_transaction(&mut admin, &statements, DEFAULT_LOCK_TIMEOUT, None)
            .await
            .map_err(local_error)?;
        if let Some((mut master, master_user, remote_statements)) = remote {
            // An error here drops (rolls back) A's transaction: nothing changed on either cluster.
            apply_in_transaction(&mut master, &remote_statements)
                .await
                .map_err(|source| RotateError::Sql {
                    cluster: remote_label(&pending),
                    source: with_admin_option_advice(source, &master_user),
                })?;
            did.push(format!(
                "cluster B: {} statement(s) for {} applied",
                remote_statements.len(),
                pending.username
            ));
        }
        // A server that reads B's readers (RemoteCluster.ReadFrom: Readers) switches
        // its mappings only once a reader lets the pending user in.
        if let Some(reader) = &reader {
            wait_for_login(&self.connector, reader).await?;
        }
        local
            .commit()
            .await
            .map_err(|e| local_error(PgError::new("committing the user mappings", &e)))?;
        did.push(format!(
            "cluster A: {} user mapping(s) of server {} now log in as {}",
            mapped.len(),
            pending.server,
            pending.username
        ));
        Ok(did.join("; "))
    }

    /// The pending login at the endpoint the server reads cluster B through, when
    /// that is not the secret's (B's writer): a link that reads B's readers.
    async fn reader_of_server(
        &self,
        id: &str,
        token: &str,
        pending: &RotationSecret,
        admin: &Client,
    ) -> Result<Option<ConnectTarget>, RotateError> {
        let endpoint = inspect::server_endpoint(admin, &pending.server)
            .await
            .map_err(|source| RotateError::Sql {
                cluster: local_label(pending),
                source,
            })?;
        Ok(endpoint.filter(|e| *e != pending.remote).map(|endpoint| {
            let mut target = pending_target(id, token, pending);
            target.label = format!("the reader endpoint server {} reads cluster B through", pending.server);
            target.endpoint = endpoint;
            target
        }))
    }

    /// A master session on the remote cluster and the statements that give the
    /// pending role its password (not applied yet).
    async fn plan_remote_password(
        &self,
        id: &str,
        current: &RotationSecret,
        pending: &RotationSecret,
    ) -> Result<(Client, String, Vec<Statement>), RotateError> {
        let (master, master_user) = self.master_session(id, pending).await?;
        let pair = roles_of(current);
        let facts = inspect::remote_facts(&master, &pair, &pending.username)
            .await
            .map_err(|source| RotateError::Sql {
                cluster: remote_label(pending),
                source,
            })?;
        if let Some(warning) = budget_warning(&facts) {
            tracing::warn!(role = %pair.base, "{warning}");
        }
        let statements = plan_pending_role(&pair, &pending.username, &pending.password, &facts)?;
        Ok((master, master_user, statements))
    }

    /// A session on the local cluster as the local admin, and the roles mapped for the server.
    async fn local_mappings(
        &self,
        id: &str,
        pending: &RotationSecret,
    ) -> Result<(Client, Vec<MappedRole>), RotateError> {
        let admin = self.local_admin_session(id, pending).await?;
        let mapped = inspect::mapped_roles(&admin, &pending.server)
            .await
            .map_err(|source| RotateError::Sql {
                cluster: local_label(pending),
                source,
            })?
            .ok_or_else(|| RotateError::ServerMissing {
                server: pending.server.clone(),
                dbname: pending.local.dbname.clone(),
                id: id.to_string(),
            })?;
        if mapped.is_empty() {
            return Err(RotateError::NoMappings {
                server: pending.server.clone(),
            });
        }
        Ok((admin, mapped))
    }

    /// testSecret: the pending credentials log in to the remote cluster, and a query
    /// through a foreign table of the server works on the local cluster in a new session.
    async fn test(&self, id: &str, token: &str) -> Result<String, RotateError> {
        let mut did_before = Vec::new();
        let did = self.test_pending(id, token, &mut did_before).await?;
        did_before.push(did);
        Ok(did_before.join("; "))
    }

    async fn test_pending(&self, id: &str, token: &str, did_before: &mut Vec<String>) -> Result<String, RotateError> {
        let pending = self.pending(id, token).await?;
        let remote = self.connector.connect(&pending_target(id, token, &pending)).await?;
        remote.simple_query("SELECT 1").await.map_err(|e| RotateError::Sql {
            cluster: remote_label(&pending),
            source: PgError::new("SELECT 1 as the pending user", &e),
        })?;
        drop(remote);
        let admin = self.local_admin_session(id, &pending).await?;
        let current = self.current(id).await?;
        if let (_, Some(repaired)) = self.in_use_repaired(id, &current, &admin).await? {
            did_before.push(repaired);
        }
        let sql_error = |source| RotateError::Sql {
            cluster: local_label(&pending),
            source,
        };
        match inspect::own_mapping_user(&admin, &pending.server)
            .await
            .map_err(sql_error)?
        {
            Some(user) if user != pending.username => {
                return Err(RotateError::MappingNotSwitched {
                    server: pending.server.clone(),
                    found: user,
                    pending: pending.username.clone(),
                })
            }
            _ => {}
        }
        let Some((schema, table)) = inspect::probe_table(&admin, &pending.server).await.map_err(sql_error)? else {
            tracing::warn!(server = %pending.server, "the server has no foreign table to probe through: only the login to cluster B was tested");
            return Ok(format!(
                "{} logs in to cluster B; no foreign table to probe",
                pending.username
            ));
        };
        let name = fdw_bridge_pg::sql::qualified(&schema, &table);
        admin
            .simple_query(&format!("SELECT 1 FROM {name} LIMIT 1"))
            .await
            .map_err(|e| RotateError::Probe {
                server: pending.server.clone(),
                table: format!("{schema}.{table}"),
                source: PgError::new(&format!("SELECT 1 FROM {name} LIMIT 1"), &e),
            })?;
        Ok(format!(
            "{} logs in to cluster B; a query through {schema}.{table} works on cluster A",
            pending.username
        ))
    }

    /// finishSecret: AWSCURRENT moves to this version (AWSPREVIOUS follows the old one).
    async fn finish(&self, id: &str, token: &str, meta: &SecretMetadata) -> Result<String, RotateError> {
        match finish_move(id, token, meta)? {
            None => Ok(format!("version {token} is already AWSCURRENT")),
            Some(from) => {
                self.store.move_current(id, token, from).await?;
                self.store.clear_pending(id, token).await?;
                Ok(format!("AWSCURRENT moved from version {from} to {token}"))
            }
        }
    }

    /// A session on cluster B as its master user, and that user's name (for advice on refusals).
    async fn master_session(&self, id: &str, secret: &RotationSecret) -> Result<(Client, String), RotateError> {
        let admin = Admin {
            what: "the master secret of cluster B",
            key: "masterarn",
            arn: &secret.masterarn,
            label: remote_label(secret),
            endpoint: &secret.remote,
            dbname: &secret.dbname,
        };
        self.admin_session(id, admin).await
    }

    /// A session on cluster A as its admin, who may change the server's user mappings.
    async fn local_admin_session(&self, id: &str, secret: &RotationSecret) -> Result<Client, RotateError> {
        let admin = Admin {
            what: "the admin secret of cluster A",
            key: "local.adminarn",
            arn: &secret.local.adminarn,
            label: local_label(secret),
            endpoint: &secret.local.endpoint,
            dbname: &secret.local.dbname,
        };
        Ok(self.admin_session(id, admin).await?.0)
    }

    /// A session as the user of an admin secret the rotation secret names, and that user's name.
    async fn admin_session(&self, id: &str, admin: Admin<'_>) -> Result<(Client, String), RotateError> {
        let secret = self
            .secrets
            .db_secret(admin.arn)
            .await
            .map_err(|source| RotateError::AdminSecret {
                what: admin.what,
                key: admin.key,
                id: id.to_string(),
                source,
            })?;
        let target = target_from_secret(admin.label, admin.endpoint.clone(), admin.dbname, &secret, admin.arn);
        Ok((self.connector.connect(&target).await?, secret.username))
    }
}

/// An admin secret named by the rotation secret (under `key`), and where its user logs in.
struct Admin<'a> {
    what: &'static str,
    key: &'static str,
    arn: &'a str,
    label: String,
    endpoint: &'a Endpoint,
    dbname: &'a str,
}

/// The roles a rotation may set passwords of: the role and its clone, or the one role.
fn roles_of(secret: &RotationSecret) -> RolePair {
    match secret.strategy {
        Strategy::Alternating => secret.roles(),
        Strategy::Single => RolePair {
            base: secret.username.clone(),
            clone: secret.username.clone(),
        },
    }
}

/// A step's own outcome, after what its repair did.
fn with_repair(repaired: Option<String>, did: String) -> String {
    match repaired {
        Some(r) => format!("{r}; {did}"),
        None => did,
    }
}

fn remote_label(s: &RotationSecret) -> String {
    format!("cluster B (remote, database {} at {})", s.dbname, s.remote)
}

fn local_label(s: &RotationSecret) -> String {
    format!("cluster A (local, database {} at {})", s.local.dbname, s.local.endpoint)
}

fn pending_target(id: &str, token: &str, pending: &RotationSecret) -> ConnectTarget {
    remote_target(
        pending,
        &pending.username,
        &pending.password,
        format!("secret {id}, AWSPENDING version {token}"),
    )
}

/// A session on cluster B's database as `user`, whose password came from `credential_source`.
fn remote_target(secret: &RotationSecret, user: &str, password: &str, credential_source: String) -> ConnectTarget {
    ConnectTarget {
        label: remote_label(secret),
        endpoint: secret.remote.clone(),
        dbname: secret.dbname.clone(),
        user: user.to_string(),
        password: password.to_string(),
        credential_source,
    }
}
