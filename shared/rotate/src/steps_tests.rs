//! The four steps' decisions against an in-memory Secrets Manager: the
//! reference checks, createSecret and finishSecret (which touch no database),
//! retries and out-of-order calls. setSecret and testSecret need both clusters:
//! their suites run on the local stack (functions/fdw-rotate/tests).

use super::secret::RotationSecret;
use super::stages::{check, Decision, SecretMetadata, StageError, AWSCURRENT, AWSPENDING};
use super::steps::Rotator;
use super::store::{RotationStore, RotationStoreError};
use super::RotateError;
use async_trait::async_trait;
use fdw_bridge_aws::{DbSecret, SecretError, SecretSource};
use fdw_bridge_pg::Connector;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const ID: &str = "arn:fdw-secret";

/// Version id to its stages and value (None until createSecret writes it, as
/// for the version RotateSecret makes).
type Versions = BTreeMap<String, (Vec<String>, Option<String>)>;

/// One secret in Secrets Manager.
#[derive(Default)]
struct InMemoryStore {
    rotation_enabled: bool,
    versions: Mutex<Versions>,
    passwords_made: Mutex<u32>,
}

impl InMemoryStore {
    fn with_current(value: &Value) -> Self {
        let store = Self {
            rotation_enabled: true,
            ..Default::default()
        };
        store
            .lock()
            .insert("v1".into(), (vec![AWSCURRENT.into()], Some(value.to_string())));
        store
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Versions> {
        self.versions.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What RotateSecret does before calling the function: a new version with AWSPENDING and no value.
    fn start_rotation(&self, token: &str) {
        self.lock().insert(token.into(), (vec![AWSPENDING.into()], None));
    }

    fn stages(&self, version: &str) -> Vec<String> {
        self.lock().get(version).map(|(s, _)| s.clone()).unwrap_or_default()
    }

    fn value(&self, version: &str) -> Option<Value> {
        let versions = self.lock();
        let text = versions.get(version)?.1.clone()?;
        serde_json::from_str(&text).ok()
    }
}

#[async_trait]
impl RotationStore for InMemoryStore {
    async fn describe(&self, _id: &str) -> Result<SecretMetadata, RotationStoreError> {
        Ok(SecretMetadata {
            rotation_enabled: self.rotation_enabled,
            versions: self.lock().iter().map(|(v, (s, _))| (v.clone(), s.clone())).collect(),
        })
    }

    async fn get(&self, _id: &str, version: Option<&str>, stage: &str) -> Result<Option<String>, RotationStoreError> {
        Ok(self
            .lock()
            .iter()
            .find(|(v, (stages, _))| version.is_none_or(|want| want == *v) && stages.iter().any(|s| s == stage))
            .and_then(|(_, (_, value))| value.clone()))
    }

    async fn put_pending(&self, _id: &str, token: &str, text: &str) -> Result<(), RotationStoreError> {
        let mut versions = self.lock();
        for (stages, _) in versions.values_mut() {
            stages.retain(|s| s != AWSPENDING);
        }
        versions.insert(token.into(), (vec![AWSPENDING.into()], Some(text.into())));
        Ok(())
    }

    async fn random_password(&self) -> Result<String, RotationStoreError> {
        let mut made = self.passwords_made.lock().unwrap_or_else(|e| e.into_inner());
        *made += 1;
        Ok(format!("random-password-{made}"))
    }

    async fn move_current(&self, _id: &str, to: &str, from: &str) -> Result<(), RotationStoreError> {
        let mut versions = self.lock();
        // Secrets Manager moves AWSPREVIOUS along with AWSCURRENT.
        for (stages, _) in versions.values_mut() {
            stages.retain(|s| s != "AWSPREVIOUS");
        }
        if let Some((stages, _)) = versions.get_mut(from) {
            stages.retain(|s| s != AWSCURRENT);
            stages.push("AWSPREVIOUS".into());
        }
        if let Some((stages, _)) = versions.get_mut(to) {
            stages.push(AWSCURRENT.into());
        }
        Ok(())
    }

    async fn clear_pending(&self, _id: &str, version: &str) -> Result<(), RotationStoreError> {
        if let Some((stages, _)) = self.lock().get_mut(version) {
            stages.retain(|s| s != AWSPENDING);
        }
        Ok(())
    }
}

/// finishSecret reads no admin secret, nor does createSecret's write (its read of
/// cluster A is tested against the local stack): any call is a test failure.
struct NoAdminSecrets;

#[async_trait]
impl SecretSource for NoAdminSecrets {
    async fn db_secret(&self, id: &str) -> Result<DbSecret, SecretError> {
        Err(SecretError::Unavailable {
            id: id.into(),
            reason: "this step must not read admin secrets".into(),
        })
    }
}

fn secret(username: &str, strategy: &str) -> Value {
    json!({
        "engine": "postgres", "host": "b.example", "port": 5432, "dbname": "orders",
        "username": username, "password": "current-password", "masterarn": "arn:master",
        "local": {"host": "a.example", "port": 5432, "dbname": "users", "adminarn": "arn:admin"},
        "server": "orders_link", "strategy": strategy, "kept": {"by": "the rotation"},
    })
}

/// createSecret's write after the reference checks, with nothing known from
/// cluster A (the secret decides); the read of A is tested on the local stack
/// (functions/fdw-rotate/tests/rotation_abandoned.rs).
async fn create(r: &Rotator, token: &str) -> String {
    let meta = r.store.describe(ID).await.unwrap();
    assert_eq!(check(ID, token, &meta).unwrap(), Decision::Run);
    let text = r.store.get(ID, None, AWSCURRENT).await.unwrap().unwrap();
    let current = RotationSecret::parse(ID, AWSCURRENT, &text).unwrap();
    if r.store.get(ID, Some(token), AWSPENDING).await.unwrap().is_some() {
        return "kept".into();
    }
    r.write_pending(ID, token, &current, None).await.unwrap()
}

fn rotator(store: Arc<InMemoryStore>) -> Rotator {
    let roots = rustls::RootCertStore::empty();
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Rotator {
        connector: Connector::new(Arc::new(tls), Duration::from_secs(1)),
        store,
        secrets: Arc::new(NoAdminSecrets),
    }
}

#[tokio::test]
async fn create_writes_the_other_user_with_a_new_password_and_keeps_every_key() {
    let store = Arc::new(InMemoryStore::with_current(&secret("fdw_orders", "alternating")));
    store.start_rotation("v2");
    let r = rotator(store.clone());
    let did = create(&r, "v2").await;
    assert!(did.contains("for user fdw_orders_clone"), "{did}");
    let pending = store.value("v2").unwrap();
    assert_eq!(pending["username"], "fdw_orders_clone");
    assert_eq!(pending["password"], "random-password-1");
    assert_eq!(pending["kept"], json!({"by": "the rotation"}));
    assert_eq!(store.stages("v1"), [AWSCURRENT]);

    // Retried (Secrets Manager retries a failed step): the value is kept, no new password.
    let again = create(&r, "v2").await;
    assert!(again.contains("kept"), "{again}");
    assert_eq!(store.value("v2").unwrap()["password"], "random-password-1");
}

#[tokio::test]
async fn single_user_keeps_the_user() {
    let store = Arc::new(InMemoryStore::with_current(&secret("fdw_orders", "single")));
    store.start_rotation("v2");
    create(&rotator(store.clone()), "v2").await;
    assert_eq!(store.value("v2").unwrap()["username"], "fdw_orders");
}

#[tokio::test]
async fn finish_moves_current_and_leaves_no_pending_and_is_idempotent() {
    let store = Arc::new(InMemoryStore::with_current(&secret("fdw_orders", "alternating")));
    store.start_rotation("v2");
    let r = rotator(store.clone());
    create(&r, "v2").await;
    let done = r.handle("finishSecret", ID, "v2").await.unwrap();
    assert!(
        done.did.contains("AWSCURRENT moved from version v1 to v2"),
        "{}",
        done.did
    );
    assert_eq!(store.stages("v2"), [AWSCURRENT]);
    assert_eq!(store.stages("v1"), ["AWSPREVIOUS"]);

    // Every step of a finished version is a no-op: nothing changes.
    for step in ["createSecret", "setSecret", "testSecret", "finishSecret"] {
        let outcome = r.handle(step, ID, "v2").await.unwrap();
        assert!(outcome.did.contains("already AWSCURRENT"), "{step}: {}", outcome.did);
    }
    assert_eq!(store.stages("v2"), [AWSCURRENT]);
    assert_eq!(store.value("v2").unwrap()["password"], "random-password-1");
}

#[tokio::test]
async fn finish_takes_a_stray_pending_off_the_current_version() {
    let store = Arc::new(InMemoryStore::with_current(&secret("fdw_orders", "alternating")));
    store.lock().insert(
        "v1".into(),
        (
            vec![AWSCURRENT.into(), AWSPENDING.into()],
            Some(secret("fdw_orders", "alternating").to_string()),
        ),
    );
    let outcome = rotator(store.clone()).handle("finishSecret", ID, "v1").await.unwrap();
    assert!(outcome.did.contains("AWSPENDING taken off it"), "{}", outcome.did);
    assert_eq!(store.stages("v1"), [AWSCURRENT]);
}

#[tokio::test]
async fn the_reference_refusals_change_nothing() {
    let store = Arc::new(InMemoryStore::with_current(&secret("fdw_orders", "alternating")));
    store.start_rotation("v2");
    store.lock().insert("old".into(), (vec!["AWSPREVIOUS".into()], None));
    let r = rotator(store.clone());
    let refusal = |e: RotateError| match e {
        RotateError::Stage(s) => s,
        other => panic!("expected a stage refusal, got {other}"),
    };
    assert!(matches!(
        refusal(r.handle("createSecret", ID, "nope").await.unwrap_err()),
        StageError::NotAVersion { .. }
    ));
    assert!(matches!(
        refusal(r.handle("setSecret", ID, "old").await.unwrap_err()),
        StageError::NotPending { .. }
    ));
    assert!(matches!(
        refusal(r.handle("rotate", ID, "v2").await.unwrap_err()),
        StageError::UnknownStep { .. }
    ));
    // finishSecret before createSecret: the version has no value yet, but the
    // stage move is all finish does; testSecret refuses without a pending value.
    let e = r.handle("testSecret", ID, "v2").await.unwrap_err();
    assert!(matches!(e, RotateError::NoPending { .. }), "{e}");
    assert!(store.value("v2").is_none());

    let disabled = Arc::new(InMemoryStore {
        rotation_enabled: false,
        ..InMemoryStore::with_current(&secret("fdw_orders", "alternating"))
    });
    disabled.start_rotation("v2");
    assert!(matches!(
        refusal(
            rotator(disabled.clone())
                .handle("createSecret", ID, "v2")
                .await
                .unwrap_err()
        ),
        StageError::RotationDisabled { .. }
    ));
    assert!(disabled.value("v2").is_none());
}

#[tokio::test]
async fn a_current_version_that_is_not_a_rotation_secret_is_refused_without_a_password_in_the_message() {
    let store = Arc::new(InMemoryStore::with_current(
        &json!({"username": "u", "password": "hunter2"}),
    ));
    store.start_rotation("v2");
    let e = rotator(store.clone())
        .handle("createSecret", ID, "v2")
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing key host") && e.contains("AWSCURRENT"), "{e}");
    assert!(!e.contains("hunter2"), "{e}");
    assert!(store.value("v2").is_none());
}
