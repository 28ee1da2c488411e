//! fdw-bootstrap's real handler, driven with CloudFormation requests as
//! CloudFormation sends them; the answer is read back from what the stack's
//! ResponseURL listener stored.

use crate::stack::{connector_with_ca, Stack};
use fdw_bridge::aws::SecretsManager;
use fdw_bridge::aws::{RdsEndpointSource, RdsInstanceSource};
use fdw_bridge::bootstrap::http_client;
use fdw_bridge::bootstrap::{Answer, Bootstrap};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

impl Stack {
    /// The handler with real clients, verifying TLS against `ca_bundle`.
    pub async fn bootstrap_with_ca(&self, ca_bundle: &str) -> Bootstrap {
        let sdk = aws_config::load_from_env().await;
        Bootstrap {
            connector: connector_with_ca(ca_bundle),
            secrets: Arc::new(SecretsManager::new(aws_sdk_secretsmanager::Client::new(&sdk))),
            endpoints: Arc::new(RdsEndpointSource::new(aws_sdk_rds::Client::new(&sdk))),
            instances: Arc::new(RdsInstanceSource::new(aws_sdk_rds::Client::new(&sdk))),
            http: http_client().expect("http client"),
        }
    }

    /// The handler with real clients, verifying TLS against the stack's CA.
    pub async fn bootstrap(&self) -> Bootstrap {
        self.bootstrap_with_ca(self.var("FDW_CA_BUNDLE")).await
    }

    /// Properties of a link between the stack's clusters, the way a template would give them.
    pub fn properties(&self, server: &str, local_schema: &str, fdw_secret_arn: &str) -> Value {
        json!({
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:fdw-bootstrap",
            "ServerName": server,
            "LocalCluster": {
                "Endpoint": "127.0.0.1", "Port": self.port('a').to_string(), "Database": "users",
                "AdminSecretArn": self.var("USERS_ADMIN_SECRET_ARN"),
            },
            "RemoteCluster": {
                "ClusterIdentifier": self.var("ORDERS_CLUSTER_ID"), "Endpoint": "127.0.0.1",
                "Port": self.port('b').to_string(), "Database": "orders",
                "AdminSecretArn": self.var("ORDERS_ADMIN_SECRET_ARN"),
            },
            "FdwRoleSecretArn": fdw_secret_arn,
            "LocalRoles": ["report_reader"],
            "ImportSchemas": [{"RemoteSchema": "public", "LocalSchema": local_schema}],
            "ServerOptions": {"SslRootCert": self.var("FDW_CA_BUNDLE")},
        })
    }

    /// A CloudFormation request as CloudFormation sends it, answering to the stack's listener.
    pub fn event(&self, kind: &str, response_path: &str, physical_id: Option<&str>, props: &Value) -> Value {
        let mut e = json!({
            "RequestType": kind,
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:fdw-bootstrap",
            "ResponseURL": format!("{}/{response_path}", self.var("RESPONSE_URL_BASE")),
            "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/fdw-bridge-test/00000000-0000-0000-0000-000000000000",
            "RequestId": format!("{kind}-{response_path}"),
            "ResourceType": "Custom::FdwLink",
            "LogicalResourceId": "FdwLink",
            "ResourceProperties": props,
        });
        if let Some(id) = physical_id {
            e["PhysicalResourceId"] = json!(id);
        }
        if kind == "Update" {
            // Tests that care (replacement) set the real old properties.
            e["OldResourceProperties"] = props.clone();
        }
        e
    }

    /// Runs one request through the handler with a Lambda deadline `timeout` away;
    /// returns the answer, the body the listener stored, and the time it took.
    /// After every invocation, no known password may appear in the function's log
    /// or either cluster's server log.
    pub async fn invoke(&self, bootstrap: &Bootstrap, event: Value, timeout: Duration) -> Invocation {
        let name = event["ResponseURL"]
            .as_str()
            .and_then(|u| u.rsplit('/').next())
            .expect("ResponseURL")
            .to_string();
        let stored = PathBuf::from(self.var("RESPONSES_DIR")).join(format!("{name}.json"));
        let _ = std::fs::remove_file(&stored);
        let started = Instant::now();
        let deadline = tokio::time::Instant::now() + timeout;
        let answer = bootstrap
            .handle_event(event, deadline)
            .await
            .unwrap_or_else(|e| panic!("no response delivered: {e}"));
        let elapsed = started.elapsed();
        let body: Value = serde_json::from_str(
            &std::fs::read_to_string(&stored)
                .unwrap_or_else(|e| panic!("the listener stored no response at {}: {e}", stored.display())),
        )
        .expect("response body is JSON");
        assert_eq!(body["PhysicalResourceId"], json!(answer.physical_resource_id));
        self.assert_no_password_leaked();
        Invocation { answer, body, elapsed }
    }

    /// A `kind` request ("Create", "Update", "Delete") for `props` through the
    /// handler, with a fresh ResponseURL and a 60 s Lambda deadline.
    pub async fn request(
        &self,
        bootstrap: &Bootstrap,
        kind: &str,
        physical_id: Option<&str>,
        props: &Value,
    ) -> Invocation {
        let event = self.event(kind, &crate::unique(&kind.to_ascii_lowercase()), physical_id, props);
        self.invoke(bootstrap, event, Duration::from_secs(60)).await
    }
}

/// One request's answer: what the handler returned and what the listener received.
pub struct Invocation {
    pub answer: Answer,
    pub body: Value,
    pub elapsed: Duration,
}

impl Invocation {
    pub fn status(&self) -> &str {
        self.body["Status"].as_str().unwrap_or("")
    }
    pub fn reason(&self) -> &str {
        self.body["Reason"].as_str().unwrap_or("")
    }
    pub fn data(&self, key: &str) -> &str {
        self.body["Data"][key].as_str().unwrap_or("")
    }
    #[track_caller]
    pub fn assert_success(&self) -> &Self {
        assert_eq!(self.status(), "SUCCESS", "reason: {}", self.reason());
        self
    }
    #[track_caller]
    pub fn assert_failed_with(&self, needles: &[&str]) -> &Self {
        assert_eq!(self.status(), "FAILED", "reason: {}", self.reason());
        for n in needles {
            assert!(self.reason().contains(n), "{n:?} not in the reason: {}", self.reason());
        }
        assert!(self.elapsed < Duration::from_secs(30), "took {:?}", self.elapsed);
        self
    }
}
