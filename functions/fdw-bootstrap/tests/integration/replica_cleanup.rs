//! `Custom::AuroraReplicaCleanup` against moto's RDS, through the function's
//! entry point (`handle_invocation`, what Lambda calls): on Delete, every
//! instance of the cluster that Aurora Auto Scaling named
//! `application-autoscaling-*` is deleted, the stack's own instances and other
//! clusters' instances are left alone; Create and a second Delete change nothing.

use fdw_bridge_testkit::{unique, Stack};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;

async fn rds() -> aws_sdk_rds::Client {
    aws_sdk_rds::Client::new(&aws_config::load_from_env().await)
}

async fn make_cluster(rds: &aws_sdk_rds::Client, cluster: &str, instances: &[&str]) {
    rds.create_db_cluster()
        .db_cluster_identifier(cluster)
        .engine("aurora-postgresql")
        .engine_version("16.6")
        .master_username("admin_user")
        .master_user_password("not-a-real-password-1")
        .send()
        .await
        .unwrap_or_else(|e| panic!("moto CreateDBCluster {cluster}: {e:?}"));
    for id in instances {
        rds.create_db_instance()
            .db_instance_identifier(*id)
            .db_cluster_identifier(cluster)
            .engine("aurora-postgresql")
            .db_instance_class("db.r7g.large")
            .send()
            .await
            .unwrap_or_else(|e| panic!("moto CreateDBInstance {id}: {e:?}"));
    }
}

/// The cluster's instances, as DescribeDBClusters lists its members (sorted).
async fn members(rds: &aws_sdk_rds::Client, cluster: &str) -> Vec<String> {
    let out = rds
        .describe_db_clusters()
        .db_cluster_identifier(cluster)
        .send()
        .await
        .unwrap();
    let mut ids: Vec<String> = out.db_clusters()[0]
        .db_cluster_members()
        .iter()
        .filter_map(|m| m.db_instance_identifier().map(str::to_string))
        .collect();
    ids.sort();
    ids
}

/// One request through the function's entry point; the body CloudFormation received.
async fn request(stack: &Stack, kind: &str, physical_id: Option<&str>, props: &Value) -> Value {
    let path = unique(&format!("cleanup-{}", kind.to_ascii_lowercase()));
    let mut event = stack.event(kind, &path, physical_id, props);
    event["ResourceType"] = json!("Custom::AuroraReplicaCleanup");
    event["LogicalResourceId"] = json!("UsersReplicaCleanup");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let bootstrap = stack.bootstrap().await;
    let returned = bootstrap
        .handle_invocation(event, deadline)
        .await
        .unwrap_or_else(|e| panic!("{kind}: {e}"));
    let stored = PathBuf::from(stack.var("RESPONSES_DIR")).join(format!("{path}.json"));
    let body: Value = serde_json::from_str(&std::fs::read_to_string(&stored).unwrap()).unwrap();
    assert_eq!(
        returned["Status"], body["Status"],
        "{kind}: what Lambda returns is what CloudFormation got"
    );
    body
}

#[tokio::test]
async fn delete_removes_the_auto_scaled_readers_of_its_cluster_only() {
    let stack = Stack::get();
    let _turn = stack.shared().await;
    let rds = rds().await;
    let tag = unique("cleanup").replace('_', "-");
    let (cluster, other) = (format!("{tag}-users"), format!("{tag}-other"));
    let writer = format!("{tag}-writer");
    let reader = format!("{tag}-reader");
    let scaled = [
        format!("application-autoscaling-{tag}-a"),
        format!("application-autoscaling-{tag}-b"),
    ];
    let bystander = format!("application-autoscaling-{tag}-other");
    make_cluster(&rds, &cluster, &[&writer, &reader, &scaled[0], &scaled[1]]).await;
    make_cluster(&rds, &other, &[&bystander]).await;

    let props = json!({"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:fdw-bootstrap",
                       "ServiceTimeout": "480", "ClusterIdentifier": cluster});
    let created = request(stack, "Create", None, &props).await;
    assert_eq!(created["Status"], "SUCCESS", "{created}");
    let id = created["PhysicalResourceId"].as_str().unwrap().to_string();
    assert_eq!(id, format!("aurora-replica-cleanup/{cluster}"));
    assert_eq!(members(&rds, &cluster).await.len(), 4, "Create deletes nothing");

    let deleted = request(stack, "Delete", Some(&id), &props).await;
    assert_eq!(deleted["Status"], "SUCCESS", "{deleted}");
    let reason = deleted["Reason"].as_str().unwrap();
    assert!(reason.contains(&scaled[0]) && reason.contains(&scaled[1]), "{reason}");
    let mut kept = vec![reader.clone(), writer.clone()];
    kept.sort();
    assert_eq!(members(&rds, &cluster).await, kept, "only the auto-scaled readers go");
    assert_eq!(
        members(&rds, &other).await,
        [bystander],
        "another cluster's are not this resource's"
    );

    // CloudFormation may send Delete again (a retried stack delete): nothing left to do.
    let again = request(stack, "Delete", Some(&id), &props).await;
    assert_eq!(again["Status"], "SUCCESS", "{again}");
    assert!(
        again["Reason"].as_str().unwrap().contains("has no auto-scaled readers"),
        "{again}"
    );

    // A cluster already gone (deleted by hand) is nothing to clean, not a failure.
    let gone = json!({"ClusterIdentifier": format!("{tag}-gone")});
    let answer = request(
        stack,
        "Delete",
        Some(&format!("aurora-replica-cleanup/{tag}-gone")),
        &gone,
    )
    .await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");

    // Properties it does not know fail the Create, naming them; that resource's Delete succeeds.
    let bad = json!({"Cluster": cluster});
    let refused = request(stack, "Create", None, &bad).await;
    assert_eq!(refused["Status"], "FAILED");
    assert!(
        refused["Reason"].as_str().unwrap().contains("unknown property Cluster"),
        "{refused}"
    );
    let failed_id = refused["PhysicalResourceId"].as_str().unwrap().to_string();
    let cleaned = request(stack, "Delete", Some(&failed_id), &bad).await;
    assert_eq!(cleaned["Status"], "SUCCESS", "{cleaned}");
}
