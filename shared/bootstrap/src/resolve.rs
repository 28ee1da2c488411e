//! From validated properties to a desired state and the sessions that reach it:
//! reads the three secrets and finds each cluster's writer endpoint (and the
//! remote cluster's reader endpoint, when the link reads from its readers).

use super::properties::{ClusterRef, LinkProperties, ReadFrom};
use fdw_bridge_aws::{DbSecret, SecretError, SecretSource};
use fdw_bridge_aws::{Endpoint, EndpointError, EndpointSource};
use fdw_bridge_link::spec::{LinkSpec, LoginRole, Password, Registration, ReportRolesSpec};
use fdw_bridge_link::MANAGED_MARKER;
use fdw_bridge_pg::role::RolePair;
use fdw_bridge_pg::{ConnectTarget, DEFAULT_PORT};
use fdw_bridge_runtime::target::{endpoint_by_precedence, target_from_secret};

/// A link ready to converge or remove.
#[derive(Clone, Debug)]
pub struct ResolvedLink {
    pub spec: LinkSpec,
    /// The local admin on the local cluster (owns the server and foreign tables).
    pub local_admin: ConnectTarget,
    /// The remote admin on the remote cluster (creates the FDW role).
    pub remote_admin: ConnectTarget,
    /// The FDW role on the remote cluster: used only to check its password.
    pub fdw_login: ConnectTarget,
    /// The report roles on the local cluster (reader, writer), when the link
    /// makes them: used only to check their passwords.
    pub report_logins: Vec<ConnectTarget>,
    /// How long one DDL statement waits for a lock.
    pub lock_timeout: std::time::Duration,
    /// The properties the link's row in `fdw_bridge.links` holds, when the run
    /// was resolved from them (a refresh): under the link's lock they must
    /// still be there, or a Create, Update or Delete that ran meanwhile is newer.
    pub resolved_from_stored: Option<serde_json::Value>,
    /// The remote cluster's reader endpoint when the foreign server reads from
    /// it (`RemoteCluster.ReadFrom: Readers`); every change still goes to the writer.
    pub remote_reader: Option<Endpoint>,
}

#[derive(Debug, thiserror::Error)]
pub enum ResolveLinkError {
    #[error("{property}: {source}")]
    Secret {
        property: &'static str,
        #[source]
        source: SecretError,
    },
    #[error("{property}: {source}")]
    Endpoint {
        property: &'static str,
        #[source]
        source: EndpointError,
    },
    #[error("RemoteCluster.ReadFrom is Readers but RDS DescribeDBClusters reports no reader endpoint for DB cluster {cluster}: wait until the cluster is available, or set RemoteCluster.ReaderEndpoint")]
    NoReaderEndpoint { cluster: String },
    #[error("{cluster}: no endpoint: set {cluster}.Endpoint or {cluster}.ClusterIdentifier (the admin secret {secret} holds no host, as an RDS-managed master secret does not)")]
    NoEndpoint { cluster: &'static str, secret: String },
    #[error("the FDW role secret {secret} has an unusable username {username:?}: {reason}")]
    BadFdwUser {
        secret: String,
        username: String,
        reason: &'static str,
    },
    #[error("{property}: secret {secret} names {username:?}, which is {which}: the report roles are least-privilege roles of their own")]
    ReportRoleTaken {
        property: &'static str,
        secret: String,
        username: String,
        which: &'static str,
    },
    #[error("the FDW role secret {secret} names {username:?}, which is the {which} admin: user mappings must use a least-privilege role, never an admin or master user")]
    FdwUserIsAdmin {
        secret: String,
        username: String,
        which: &'static str,
    },
}

/// Who made an object: the stack and the logical resource (the same across
/// replacements, so an Update can adopt what the old identity made).
pub fn marker(stack_id: &str, logical_resource_id: &str) -> String {
    format!("{MANAGED_MARKER}: stack={stack_id} resource={logical_resource_id}")
}

/// Properties CloudFormation adds for itself: not part of the link's desired state.
const CLOUDFORMATION_PROPERTIES: [&str; 2] = ["ServiceToken", "ServiceTimeout"];

/// What the link stores about itself for the refresh: who declared it and its
/// properties as sent (secret ARNs, never secrets).
pub fn registration(stack_id: &str, logical_resource_id: &str, properties: &serde_json::Value) -> Registration {
    let mut properties = properties.clone();
    if let Some(object) = properties.as_object_mut() {
        for key in CLOUDFORMATION_PROPERTIES {
            object.remove(key);
        }
    }
    Registration {
        stack_id: stack_id.to_string(),
        logical_resource_id: logical_resource_id.to_string(),
        properties,
    }
}

/// The session as the local cluster's admin, for the refresh, which starts from
/// the local cluster alone (where the links are stored): its secret, then its endpoint.
pub async fn resolve_local_admin(
    local: &ClusterRef,
    secrets: &dyn SecretSource,
    endpoints: &dyn EndpointSource,
) -> Result<ConnectTarget, ResolveLinkError> {
    let secret = secrets
        .db_secret(&local.admin_secret_arn)
        .await
        .map_err(|source| ResolveLinkError::Secret {
            property: "LocalCluster.AdminSecretArn",
            source,
        })?;
    let endpoint = endpoint_of(local, &secret, "LocalCluster", endpoints).await?;
    Ok(local_admin_target(local, endpoint, &secret))
}

fn local_admin_target(local: &ClusterRef, endpoint: Endpoint, secret: &DbSecret) -> ConnectTarget {
    target_from_secret(
        format!("local cluster (LocalCluster, database {})", local.database),
        endpoint,
        &local.database,
        secret,
        &local.admin_secret_arn,
    )
}

/// The link `props` describe, declared by `origin` (whose stack and logical
/// resource make the ownership marker, and which the link stores on the local cluster).
pub async fn resolve_link(
    props: &LinkProperties,
    origin: Registration,
    secrets: &dyn SecretSource,
    endpoints: &dyn EndpointSource,
) -> Result<ResolvedLink, ResolveLinkError> {
    let secret = |property: &'static str| move |source| ResolveLinkError::Secret { property, source };
    let local_secret = secrets
        .db_secret(&props.local.admin_secret_arn)
        .await
        .map_err(secret("LocalCluster.AdminSecretArn"))?;
    let remote_secret = secrets
        .db_secret(&props.remote.admin_secret_arn)
        .await
        .map_err(secret("RemoteCluster.AdminSecretArn"))?;
    let fdw_secret = secrets
        .db_secret(&props.fdw_role_secret_arn)
        .await
        .map_err(secret("FdwRoleSecretArn"))?;

    // After an odd number of alternating-users rotations the secret names the clone.
    let login_user = fdw_secret.username.clone();
    let fdw_user = RolePair::of(&login_user).base;
    let bad_user = |reason| ResolveLinkError::BadFdwUser {
        secret: props.fdw_role_secret_arn.clone(),
        username: fdw_user.clone(),
        reason,
    };
    if fdw_user.is_empty() {
        return Err(bad_user("it is empty"));
    }
    // Room for the "_clone" suffix of alternating-users rotation.
    if fdw_user.len() > 57 {
        return Err(bad_user(
            "PostgreSQL names hold 63 bytes and rotation appends \"_clone\": use at most 57",
        ));
    }
    if fdw_user.contains('\0') {
        return Err(bad_user("it contains a NUL character"));
    }
    for (which, admin) in [("remote", &remote_secret), ("local", &local_secret)] {
        if admin.username == fdw_user {
            return Err(ResolveLinkError::FdwUserIsAdmin {
                secret: props.fdw_role_secret_arn.clone(),
                username: fdw_user,
                which,
            });
        }
    }

    let mut report_secrets = Vec::new();
    if let Some(roles) = &props.report_roles {
        for (property, arn) in [
            ("ReportRoles.ReaderSecretArn", &roles.reader_secret_arn),
            ("ReportRoles.WriterSecretArn", &roles.writer_secret_arn),
        ] {
            let s = secrets.db_secret(arn).await.map_err(secret(property))?;
            let taken = if s.username == local_secret.username {
                Some("the local admin")
            } else if s.username == fdw_user || RolePair::of(&s.username).base == fdw_user {
                Some("the FDW role")
            } else if report_secrets
                .iter()
                .any(|(_, _, other): &(_, _, DbSecret)| other.username == s.username)
            {
                Some("the other report role")
            } else {
                None
            };
            if let Some(which) = taken {
                return Err(ResolveLinkError::ReportRoleTaken {
                    property,
                    secret: arn.clone(),
                    username: s.username,
                    which,
                });
            }
            report_secrets.push((property, arn.clone(), s));
        }
    }

    let local_endpoint = endpoint_of(&props.local, &local_secret, "LocalCluster", endpoints).await?;
    let remote_endpoint = endpoint_of(&props.remote, &remote_secret, "RemoteCluster", endpoints).await?;
    let remote_reader = reader_endpoint_of(&props.remote, &remote_secret, endpoints).await?;
    // The foreign server's host: the readers when asked for, else the writer.
    let read_at = remote_reader.clone().unwrap_or_else(|| remote_endpoint.clone());

    let login = |(_, _, s): &(&str, String, DbSecret)| LoginRole {
        name: s.username.clone(),
        password: Password(s.password.clone()),
    };
    let report_roles = match (&props.report_roles, report_secrets.as_slice()) {
        (Some(roles), [reader, writer]) => Some(ReportRolesSpec {
            reader: login(reader),
            writer: login(writer),
            read_tables: roles.read_tables.clone(),
        }),
        _ => None,
    };
    // The reader queries the foreign tables like any local role.
    let mut local_roles = props.local_roles.clone();
    if let Some(roles) = &report_roles {
        if !local_roles.contains(&roles.reader.name) {
            local_roles.push(roles.reader.name.clone());
        }
    }
    let spec = LinkSpec {
        server_name: props.server_name.clone(),
        marker: marker(&origin.stack_id, &origin.logical_resource_id),
        link_id: props.physical_id(),
        remote_host: read_at.host,
        remote_port: read_at.port,
        remote_database: props.remote.database.clone(),
        server_options: props.server_options.clone(),
        fdw_user: fdw_user.clone(),
        login_user,
        fdw_password: Password(fdw_secret.password.clone()),
        fdw_connection_limit: props.fdw_connection_limit,
        remote_admin_user: remote_secret.username.clone(),
        local_admin_user: local_secret.username.clone(),
        local_roles,
        imports: props.imports.clone(),
        report_roles,
        skip_ungrantable: props.skip_ungrantable,
        registration: Some(origin),
    };
    Ok(ResolvedLink {
        local_admin: local_admin_target(&props.local, local_endpoint.clone(), &local_secret),
        remote_admin: target_from_secret(
            format!("remote cluster (RemoteCluster, database {})", props.remote.database),
            remote_endpoint.clone(),
            &props.remote.database,
            &remote_secret,
            &props.remote.admin_secret_arn,
        ),
        report_logins: report_secrets
            .iter()
            .map(|(property, arn, s)| {
                target_from_secret(
                    format!("local cluster as the report role of {property}"),
                    local_endpoint.clone(),
                    &props.local.database,
                    s,
                    arn,
                )
            })
            .collect(),
        fdw_login: target_from_secret(
            "remote cluster as the FDW role".into(),
            remote_endpoint,
            &props.remote.database,
            &fdw_secret,
            &props.fdw_role_secret_arn,
        ),
        lock_timeout: props.lock_timeout,
        resolved_from_stored: None,
        remote_reader,
        spec,
    })
}

/// The remote cluster's reader endpoint when `ReadFrom` is `Readers`: the explicit
/// `ReaderEndpoint` (on `ReaderPort`, else `Port`, else the secret's port), else the
/// one RDS reports for the cluster identifier (on `ReaderPort`, else `Port`, else the
/// cluster's port). None when the link reads from the writer.
async fn reader_endpoint_of(
    cluster: &ClusterRef,
    secret: &DbSecret,
    endpoints: &dyn EndpointSource,
) -> Result<Option<Endpoint>, ResolveLinkError> {
    if cluster.read_from == ReadFrom::Writer {
        return Ok(None);
    }
    if let Some(host) = &cluster.reader_endpoint {
        return Ok(Some(Endpoint {
            host: host.clone(),
            port: cluster
                .reader_port
                .or(cluster.port)
                .or(secret.port)
                .unwrap_or(DEFAULT_PORT),
        }));
    }
    // properties::parse refuses Readers without either.
    let Some(id) = &cluster.cluster_identifier else {
        return Err(ResolveLinkError::NoReaderEndpoint {
            cluster: cluster.location(),
        });
    };
    let found = endpoints
        .cluster_endpoints(id)
        .await
        .map_err(|source| ResolveLinkError::Endpoint {
            property: "RemoteCluster.ClusterIdentifier",
            source,
        })?;
    let mut reader = found
        .reader
        .ok_or_else(|| ResolveLinkError::NoReaderEndpoint { cluster: id.clone() })?;
    if let Some(port) = cluster.reader_port.or(cluster.port) {
        reader.port = port;
    }
    Ok(Some(reader))
}

/// Explicit Endpoint first, then the cluster's writer endpoint from RDS, then the secret's host.
async fn endpoint_of(
    cluster: &ClusterRef,
    secret: &DbSecret,
    name: &'static str,
    endpoints: &dyn EndpointSource,
) -> Result<Endpoint, ResolveLinkError> {
    let explicit = cluster.endpoint.as_ref().map(|host| Endpoint {
        host: host.clone(),
        port: cluster.port.or(secret.port).unwrap_or(DEFAULT_PORT),
    });
    let from_rds = match (&explicit, &cluster.cluster_identifier) {
        (None, Some(id)) => Some(
            endpoints
                .cluster_endpoints(id)
                .await
                .map_err(|source| ResolveLinkError::Endpoint {
                    property: if name == "LocalCluster" {
                        "LocalCluster.ClusterIdentifier"
                    } else {
                        "RemoteCluster.ClusterIdentifier"
                    },
                    source,
                })?
                .writer,
        ),
        _ => None,
    };
    endpoint_by_precedence(explicit, from_rds, secret, cluster.port).ok_or_else(|| ResolveLinkError::NoEndpoint {
        cluster: name,
        secret: cluster.admin_secret_arn.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::properties::parse;
    use async_trait::async_trait;
    use fdw_bridge_aws::ClusterEndpoints;
    use std::collections::HashMap;

    struct Secrets(HashMap<&'static str, &'static str>);

    #[async_trait]
    impl SecretSource for Secrets {
        async fn db_secret(&self, id: &str) -> Result<DbSecret, SecretError> {
            match self.0.get(id) {
                Some(text) => DbSecret::parse(id, text),
                None => Err(SecretError::NotFound { id: id.into() }),
            }
        }
    }

    struct Rds;

    #[async_trait]
    impl EndpointSource for Rds {
        async fn cluster_endpoints(&self, id: &str) -> Result<ClusterEndpoints, EndpointError> {
            match id {
                "users-cluster" => Ok(ClusterEndpoints {
                    writer: Endpoint {
                        host: "users.cluster-x.rds".into(),
                        port: 5432,
                    },
                    reader: None,
                }),
                "orders-cluster" => Ok(ClusterEndpoints {
                    writer: Endpoint {
                        host: "orders.cluster-x.rds".into(),
                        port: 5432,
                    },
                    reader: Some(Endpoint {
                        host: "orders.cluster-ro-x.rds".into(),
                        port: 5432,
                    }),
                }),
                _ => Err(EndpointError::NotFound { cluster: id.into() }),
            }
        }
    }

    fn secrets(fdw: &'static str) -> Secrets {
        Secrets(HashMap::from([
            ("arn:a", r#"{"username":"users_admin","password":"pa"}"#),
            (
                "arn:b",
                r#"{"username":"orders_admin","password":"pb","host":"orders.rds","port":6543}"#,
            ),
            ("arn:f", fdw),
        ]))
    }

    fn origin() -> Registration {
        registration(
            "arn:stack",
            "Link",
            &serde_json::json!({"ServiceToken": "arn:fn", "ServerName": "x"}),
        )
    }

    #[test]
    fn the_stored_properties_leave_out_cloudformations_own() {
        assert_eq!(origin().properties, serde_json::json!({"ServerName": "x"}));
    }

    fn props(remote: serde_json::Value) -> LinkProperties {
        parse(&serde_json::json!({
            "LocalCluster": {"ClusterIdentifier": "users-cluster", "Database": "users", "AdminSecretArn": "arn:a"},
            "RemoteCluster": remote,
            "FdwRoleSecretArn": "arn:f",
            "ImportSchemas": [{"RemoteSchema": "public", "LocalSchema": "orders_remote"}],
            "ServerOptions": {"SslRootCert": "/ca.pem"}
        }))
        .unwrap()
    }

    #[tokio::test]
    async fn endpoints_come_from_rds_or_the_secret() {
        let p = props(serde_json::json!({"Database": "orders", "AdminSecretArn": "arn:b"}));
        let link = resolve_link(
            &p,
            origin(),
            &secrets(r#"{"username":"fdw_orders","password":"pf"}"#),
            &Rds,
        )
        .await
        .unwrap();
        assert_eq!(link.local_admin.endpoint.host, "users.cluster-x.rds");
        assert_eq!(link.remote_admin.endpoint.to_string(), "orders.rds:6543");
        assert_eq!(
            (link.spec.remote_host.as_str(), link.spec.remote_port),
            ("orders.rds", 6543)
        );
        assert_eq!(link.fdw_login.user, "fdw_orders");
        assert_eq!(link.spec.local_admin_user, "users_admin");
        assert!(!format!("{link:?}").contains("pf"));
    }

    #[tokio::test]
    async fn a_link_that_reads_from_readers_points_its_server_there_and_changes_the_writer() {
        let fdw = secrets(r#"{"username":"fdw_orders","password":"pf"}"#);
        let p = props(
            serde_json::json!({"ClusterIdentifier": "orders-cluster", "Database": "orders",
            "AdminSecretArn": "arn:b", "ReadFrom": "Readers"}),
        );
        let link = resolve_link(&p, origin(), &fdw, &Rds).await.unwrap();
        assert_eq!(link.spec.remote_host, "orders.cluster-ro-x.rds");
        assert_eq!(link.remote_admin.endpoint.host, "orders.cluster-x.rds");
        assert_eq!(link.fdw_login.endpoint.host, "orders.cluster-x.rds");
        assert_eq!(link.remote_reader.unwrap().host, "orders.cluster-ro-x.rds");

        // Explicit: the reader's own port, else Port.
        let p = props(
            serde_json::json!({"Endpoint": "b", "Port": "7000", "Database": "orders",
            "AdminSecretArn": "arn:b", "ReadFrom": "Readers", "ReaderEndpoint": "b-ro"}),
        );
        let link = resolve_link(&p, origin(), &fdw, &Rds).await.unwrap();
        assert_eq!((link.spec.remote_host.as_str(), link.spec.remote_port), ("b-ro", 7000));
        assert_eq!(link.remote_admin.endpoint.to_string(), "b:7000");

        let p = props(
            serde_json::json!({"ClusterIdentifier": "users-cluster", "Database": "orders",
            "AdminSecretArn": "arn:b", "ReadFrom": "Readers"}),
        );
        let e = resolve_link(&p, origin(), &fdw, &Rds).await.unwrap_err();
        assert!(
            e.to_string()
                .contains("no reader endpoint for DB cluster users-cluster"),
            "{e}"
        );

        // Reading from the writer (the default) sets no reader.
        let p = props(
            serde_json::json!({"ClusterIdentifier": "orders-cluster", "Database": "orders", "AdminSecretArn": "arn:b"}),
        );
        let link = resolve_link(&p, origin(), &fdw, &Rds).await.unwrap();
        assert_eq!(link.spec.remote_host, "orders.cluster-x.rds");
        assert!(link.remote_reader.is_none());
    }

    #[tokio::test]
    async fn refusals_name_the_property() {
        let p = props(serde_json::json!({"Database": "orders", "AdminSecretArn": "arn:missing"}));
        let e = resolve_link(&p, origin(), &secrets(r#"{"username":"x","password":"p"}"#), &Rds)
            .await
            .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("RemoteCluster.AdminSecretArn: secret arn:missing was not found"),
            "{e}"
        );

        let p = props(serde_json::json!({"Database": "orders", "AdminSecretArn": "arn:b"}));
        let e = resolve_link(
            &p,
            origin(),
            &secrets(r#"{"username":"orders_admin","password":"p"}"#),
            &Rds,
        )
        .await
        .unwrap_err();
        assert!(e.to_string().contains("which is the remote admin"), "{e}");

        let p =
            props(serde_json::json!({"ClusterIdentifier": "gone", "Database": "orders", "AdminSecretArn": "arn:b"}));
        let e = resolve_link(&p, origin(), &secrets(r#"{"username":"f","password":"p"}"#), &Rds)
            .await
            .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("RemoteCluster.ClusterIdentifier: DB cluster gone was not found"),
            "{e}"
        );
    }
}
