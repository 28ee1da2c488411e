//! fdw-rotate against the stack: the rotation secret of a link, starting a
//! rotation as Secrets Manager does, and the handler with real clients.

use crate::leak_watch::remember_secret;
use crate::link::TestLink;
use crate::stack::{repo_dir, Stack};
use fdw_bridge::aws::SecretsManager;
use fdw_bridge::rotate::Rotator;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

impl Stack {
    /// A rotation secret for `link` (AWS rotation-template keys plus the link's
    /// keys), with `strategy` "alternating" or "single"; returns its ARN.
    pub async fn rotation_secret(&self, link: &TestLink, strategy: &str) -> String {
        remember_secret(&link.fdw_password);
        self.put_secret(
            &format!("fdw-bridge-test/rotate/{}", link.fdw_user),
            json!({
                "engine": "postgres", "host": "127.0.0.1", "port": self.port('b'), "dbname": "orders",
                "username": link.fdw_user, "password": link.fdw_password,
                "masterarn": self.var("ORDERS_ADMIN_SECRET_ARN"),
                "local": {"host": "127.0.0.1", "port": self.port('a').to_string(), "dbname": "users",
                          "adminarn": self.var("USERS_ADMIN_SECRET_ARN")},
                "server": link.server, "strategy": strategy,
            }),
        )
        .await
    }

    /// moto's stand-in rotation Lambda (scripts/moto-rotation-lambda.py), made once per test binary.
    pub fn rotation_lambda_arn(&self) -> &str {
        self.rotation_lambda_arn.get_or_init(|| {
            let repo = repo_dir();
            let out = std::process::Command::new(repo.join(".venv/bin/python"))
                .arg(repo.join("scripts/moto-rotation-lambda.py"))
                .output()
                .unwrap_or_else(|e| panic!("cannot run .venv/bin/python ({e}): run `make stack-up`"));
            assert!(
                out.status.success(),
                "scripts/moto-rotation-lambda.py failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        })
    }

    /// Starts a rotation the way Secrets Manager does (RotateSecret: rotation
    /// enabled, a new version with AWSPENDING and no value yet); returns that
    /// version's id, the ClientRequestToken of the four steps.
    pub async fn start_rotation(&self, secret_arn: &str) -> String {
        let sdk = aws_config::load_from_env().await;
        let sm = aws_sdk_secretsmanager::Client::new(&sdk);
        let out = sm
            .rotate_secret()
            .secret_id(secret_arn)
            .rotation_lambda_arn(self.rotation_lambda_arn())
            .rotation_rules(
                aws_sdk_secretsmanager::types::RotationRulesType::builder()
                    .automatically_after_days(30)
                    .build(),
            )
            .rotate_immediately(true)
            .send()
            .await
            .unwrap_or_else(|e| panic!("moto refused RotateSecret on {secret_arn}: {e:?}"));
        out.version_id()
            .expect("RotateSecret returns the new version")
            .to_string()
    }

    /// The fdw-rotate handler with real clients (the SDK against moto, TLS to both clusters).
    pub async fn rotator(&self) -> Rotator {
        let sdk = aws_config::load_from_env().await;
        // One Secrets Manager client: the rotation store and the reader of the admin secrets.
        let secrets = Arc::new(SecretsManager::new(aws_sdk_secretsmanager::Client::new(&sdk)));
        Rotator {
            connector: self.connector(),
            store: secrets.clone(),
            secrets,
        }
    }

    /// One whole rotation of `secret_arn` through the handler, as Secrets
    /// Manager runs it, `pause` after each step (so that querying clients meet
    /// every state); the pending password joins those the leak watch looks for.
    pub async fn rotate_whole(&self, secret_arn: &str, pause: Duration) {
        let token = self.start_rotation(secret_arn).await;
        let rotator = self.rotator().await;
        for step in ["createSecret", "setSecret", "testSecret", "finishSecret"] {
            let outcome = rotator
                .handle(step, secret_arn, &token)
                .await
                .unwrap_or_else(|e| panic!("{step} of the rotation of {secret_arn}: {e}"));
            if outcome.did.starts_with("created AWSPENDING") {
                let pending = self.secret_version(secret_arn, Some(&token), "AWSPENDING").await;
                remember_secret(pending["password"].as_str().expect("password"));
            }
            tokio::time::sleep(pause).await;
        }
    }
}
