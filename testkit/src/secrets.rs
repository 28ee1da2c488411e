//! Secrets in moto's Secrets Manager, through the real SDK.

use crate::aws::Aws;
use crate::leak_watch::remember_secret;
use crate::stack::Stack;
use serde_json::{json, Value};

impl Aws {
    /// Puts a secret in moto's Secrets Manager (created or given a new value); returns its ARN.
    pub async fn put_secret(&self, name: &str, value: Value) -> String {
        let sdk = aws_config::load_from_env().await;
        let sm = aws_sdk_secretsmanager::Client::new(&sdk);
        let text = value.to_string();
        match sm.create_secret().name(name).secret_string(&text).send().await {
            Ok(out) => out.arn().expect("arn").to_string(),
            Err(_) => {
                let out = sm
                    .put_secret_value()
                    .secret_id(name)
                    .secret_string(&text)
                    .send()
                    .await
                    .unwrap_or_else(|e| {
                        panic!(
                            "moto at {} refused secret {name}: {e:?}",
                            self.env.var("AWS_ENDPOINT_URL")
                        )
                    });
                out.arn().expect("arn").to_string()
            }
        }
    }

    /// A version of a secret by stage (and version id), as JSON.
    pub async fn secret_version(&self, secret_arn: &str, version: Option<&str>, stage: &str) -> Value {
        let sdk = aws_config::load_from_env().await;
        let sm = aws_sdk_secretsmanager::Client::new(&sdk);
        let out = sm
            .get_secret_value()
            .secret_id(secret_arn)
            .set_version_id(version.map(str::to_string))
            .version_stage(stage)
            .send()
            .await
            .unwrap_or_else(|e| panic!("no {stage} version of {secret_arn}: {e:?}"));
        serde_json::from_str(out.secret_string().expect("a string secret")).expect("JSON secret")
    }
}

impl Stack {
    /// An FDW role secret of the tests' own (each test has its own role on B).
    pub async fn fdw_secret(&self, username: &str, password: &str) -> String {
        let arn = self
            .aws
            .put_secret(
                &format!("fdw-bridge-test/{username}"),
                json!({
                    "engine": "postgres", "host": "127.0.0.1", "port": self.clusters.port('b'),
                    "dbname": "orders", "username": username, "password": password,
                    "masterarn": self.var("ORDERS_ADMIN_SECRET_ARN"),
                }),
            )
            .await;
        remember_secret(password);
        arn
    }
}
