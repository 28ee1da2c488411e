//! Who and where: the report role on the local cluster's reader endpoint, and the
//! writer role on its writer endpoint. Resolved at each invocation, so a
//! rotated secret is picked up.

use super::settings::ReportSettings;
use fdw_bridge_aws::{DbSecret, SecretError, SecretSource};
use fdw_bridge_aws::{Endpoint, EndpointError, EndpointSource};
use fdw_bridge_pg::ConnectTarget;
use fdw_bridge_runtime::target::{endpoint_by_precedence, target_from_secret};

#[derive(Clone, Debug)]
pub struct Targets {
    /// The read-only report role on the reader endpoint.
    pub reader: ConnectTarget,
    /// The role that writes `fdw_reports`, on the writer endpoint.
    pub writer: ConnectTarget,
}

#[derive(Debug, thiserror::Error)]
pub enum ReportTargetError {
    #[error("{setting}: {source}")]
    Secret {
        setting: &'static str,
        #[source]
        source: SecretError,
    },
    #[error("FDW_REPORT_CLUSTER_ID: {0}")]
    Endpoint(#[source] EndpointError),
    #[error("no endpoint for the {which}: set {setting} or FDW_REPORT_CLUSTER_ID (secret {secret} holds no host)")]
    NoEndpoint {
        which: &'static str,
        setting: &'static str,
        secret: String,
    },
}

pub async fn resolve_targets(
    settings: &ReportSettings,
    secrets: &dyn SecretSource,
    endpoints: &dyn EndpointSource,
) -> Result<Targets, ReportTargetError> {
    let reader_secret =
        secrets
            .db_secret(&settings.reader_secret_arn)
            .await
            .map_err(|source| ReportTargetError::Secret {
                setting: "FDW_REPORT_READER_SECRET_ARN",
                source,
            })?;
    let writer_secret =
        secrets
            .db_secret(&settings.writer_secret_arn)
            .await
            .map_err(|source| ReportTargetError::Secret {
                setting: "FDW_REPORT_WRITER_SECRET_ARN",
                source,
            })?;
    let cluster = match (
        &settings.cluster_id,
        &settings.reader_endpoint,
        &settings.writer_endpoint,
    ) {
        (Some(id), r, w) if r.is_none() || w.is_none() => Some(
            endpoints
                .cluster_endpoints(id)
                .await
                .map_err(ReportTargetError::Endpoint)?,
        ),
        _ => None,
    };
    let reader_endpoint = endpoint_by_precedence(
        settings.reader_endpoint.clone(),
        cluster
            .as_ref()
            .map(|c| c.reader.clone().unwrap_or_else(|| c.writer.clone())),
        &reader_secret,
        None,
    )
    .ok_or_else(|| ReportTargetError::NoEndpoint {
        which: "reader",
        setting: "FDW_REPORT_READER_ENDPOINT",
        secret: settings.reader_secret_arn.clone(),
    })?;
    let writer_endpoint = endpoint_by_precedence(
        settings.writer_endpoint.clone(),
        cluster.as_ref().map(|c| c.writer.clone()),
        &writer_secret,
        None,
    )
    .ok_or_else(|| ReportTargetError::NoEndpoint {
        which: "writer",
        setting: "FDW_REPORT_WRITER_ENDPOINT",
        secret: settings.writer_secret_arn.clone(),
    })?;
    let database = settings
        .database
        .clone()
        .or_else(|| reader_secret.dbname.clone())
        .unwrap_or_else(|| "users".into());
    let target = |label: &str, endpoint: Endpoint, secret: &DbSecret, arn: &str| {
        target_from_secret(
            format!("{label} (database {database})"),
            endpoint,
            &database,
            secret,
            arn,
        )
    };
    Ok(Targets {
        reader: target(
            "report reader on cluster A's reader endpoint",
            reader_endpoint,
            &reader_secret,
            &settings.reader_secret_arn,
        ),
        writer: target(
            "report writer on cluster A's writer endpoint",
            writer_endpoint,
            &writer_secret,
            &settings.writer_secret_arn,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;
    use fdw_bridge_aws::ClusterEndpoints;

    struct Secrets;
    #[async_trait]
    impl SecretSource for Secrets {
        async fn db_secret(&self, id: &str) -> Result<DbSecret, SecretError> {
            match id {
                "arn:r" => DbSecret::parse(
                    id,
                    r#"{"username":"report_reader","password":"p","host":"a","port":5433}"#,
                ),
                "arn:w" => DbSecret::parse(id, r#"{"username":"users_admin","password":"p","dbname":"users"}"#),
                _ => Err(SecretError::NotFound { id: id.into() }),
            }
        }
    }
    struct Rds;
    #[async_trait]
    impl EndpointSource for Rds {
        async fn cluster_endpoints(&self, id: &str) -> Result<ClusterEndpoints, EndpointError> {
            Ok(ClusterEndpoints {
                writer: Endpoint {
                    host: format!("{id}.cluster-x"),
                    port: 5432,
                },
                reader: Some(Endpoint {
                    host: format!("{id}.cluster-ro-x"),
                    port: 5432,
                }),
            })
        }
    }

    fn settings(cluster: Option<&str>) -> ReportSettings {
        let mut s = ReportSettings::from_lookup(|k| match k {
            "FDW_CA_BUNDLE" => Some("/ca".into()),
            "FDW_REPORT_READER_SECRET_ARN" => Some("arn:r".into()),
            "FDW_REPORT_WRITER_SECRET_ARN" => Some("arn:w".into()),
            _ => None,
        })
        .unwrap();
        s.cluster_id = cluster.map(str::to_string);
        s
    }

    #[tokio::test]
    async fn reader_endpoint_from_rds_else_the_secret() {
        let t = resolve_targets(&settings(Some("users")), &Secrets, &Rds).await.unwrap();
        assert_eq!(t.reader.endpoint.host, "users.cluster-ro-x");
        assert_eq!(t.writer.endpoint.host, "users.cluster-x");
        assert_eq!(t.reader.user, "report_reader");

        let t = resolve_targets(&settings(None), &Secrets, &Rds).await;
        // The writer secret has no host and there is no cluster id.
        let e = t.unwrap_err().to_string();
        assert!(e.contains("FDW_REPORT_WRITER_ENDPOINT") && e.contains("arn:w"), "{e}");

        let mut s = settings(None);
        s.writer_endpoint = Some(Endpoint {
            host: "w".into(),
            port: 1,
        });
        let t = resolve_targets(&s, &Secrets, &Rds).await.unwrap();
        assert_eq!(t.reader.endpoint.to_string(), "a:5433");
        assert_eq!(t.reader.dbname, "users");
    }
}
