#!/usr/bin/env python3
"""Seeds moto (Secrets Manager + RDS) for the local stack. Idempotent.

Reads the stack's settings from the environment (stack.sh exports them) and writes
`export KEY='value'` lines (ARNs, cluster endpoints) to the file named by argv[1].
"""
import json
import os
import sys

import boto3
from botocore.exceptions import ClientError

E = os.environ
REGION = E.get("AWS_REGION", "us-east-1")
ENDPOINT = E["AWS_ENDPOINT_URL"]


def client(svc):
    return boto3.client(svc, region_name=REGION, endpoint_url=ENDPOINT,
                        aws_access_key_id=E.get("AWS_ACCESS_KEY_ID", "testing"),
                        aws_secret_access_key=E.get("AWS_SECRET_ACCESS_KEY", "testing"))


sm = client("secretsmanager")
rds = client("rds")


def put_secret(name, value, description):
    body = json.dumps(value, separators=(",", ":"))
    try:
        arn = sm.describe_secret(SecretId=name)["ARN"]
        cur = sm.get_secret_value(SecretId=name)["SecretString"]
        if cur != body:
            sm.put_secret_value(SecretId=name, SecretString=body)
        return arn
    except ClientError as e:
        if e.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
    return sm.create_secret(Name=name, SecretString=body, Description=description)["ARN"]


def ensure_cluster(ident, port, master_user, master_password, dbname):
    try:
        c = rds.describe_db_clusters(DBClusterIdentifier=ident)["DBClusters"][0]
    except ClientError as e:
        if e.response["Error"]["Code"] not in ("DBClusterNotFoundFault", "DBClusterNotFound"):
            raise
        c = rds.create_db_cluster(
            DBClusterIdentifier=ident, Engine="aurora-postgresql", EngineVersion="15.4",
            MasterUsername=master_user, MasterUserPassword=master_password,
            DatabaseName=dbname, Port=int(port))["DBCluster"]
    return c


def main(out):
    a_port, b_port = int(E["PG_A_PORT"]), int(E["PG_B_PORT"])
    users_admin = put_secret("fdw-bridge/users-admin", {
        "engine": "postgres", "host": "127.0.0.1", "port": a_port, "dbname": "users",
        "username": E["USERS_ADMIN_USER"], "password": E["USERS_ADMIN_PASSWORD"],
    }, "users cluster admin (stands in for the master user)")
    # Like an RDS-managed master secret: username and password only.
    orders_admin = put_secret("fdw-bridge/orders-admin", {
        "username": E["ORDERS_ADMIN_USER"], "password": E["ORDERS_ADMIN_PASSWORD"],
    }, "orders cluster master secret (RDS-managed shape)")
    fdw_role = put_secret("fdw-bridge/fdw-role", {
        "engine": "postgres", "host": "127.0.0.1", "port": b_port, "dbname": "orders",
        "username": E["FDW_ROLE_USER"], "password": E["FDW_ROLE_PASSWORD"],
        "masterarn": orders_admin,
    }, "login role the FDW link uses on the orders cluster")
    report_reader = put_secret("fdw-bridge/report-reader", {
        "engine": "postgres", "host": "127.0.0.1", "port": a_port, "dbname": "users",
        "username": "report_reader", "password": E["REPORT_READER_PASSWORD"],
    }, "reporting login on the users cluster")

    uc = ensure_cluster(E.get("USERS_CLUSTER_ID", "users-cluster"), a_port,
                        E["USERS_ADMIN_USER"], E["USERS_ADMIN_PASSWORD"], "users")
    oc = ensure_cluster(E.get("ORDERS_CLUSTER_ID", "orders-cluster"), b_port,
                        E["ORDERS_ADMIN_USER"], E["ORDERS_ADMIN_PASSWORD"], "orders")

    kv = {
        "USERS_ADMIN_SECRET_ARN": users_admin,
        "ORDERS_ADMIN_SECRET_ARN": orders_admin,
        "FDW_ROLE_SECRET_ARN": fdw_role,
        "REPORT_READER_SECRET_ARN": report_reader,
        "USERS_CLUSTER_ARN": uc.get("DBClusterArn", ""),
        "USERS_CLUSTER_ENDPOINT": uc.get("Endpoint", ""),
        "USERS_CLUSTER_READER_ENDPOINT": uc.get("ReaderEndpoint", ""),
        "ORDERS_CLUSTER_ARN": oc.get("DBClusterArn", ""),
        "ORDERS_CLUSTER_ENDPOINT": oc.get("Endpoint", ""),
        "ORDERS_CLUSTER_READER_ENDPOINT": oc.get("ReaderEndpoint", ""),
    }
    # Cluster C (stack.sh up --with-c): its master secret in the RDS-managed shape, and its cluster.
    if E.get("PG_C_PORT"):
        c_port = int(E["PG_C_PORT"])
        payments_admin = put_secret("fdw-bridge/payments-admin", {
            "username": E["PAYMENTS_ADMIN_USER"], "password": E["PAYMENTS_ADMIN_PASSWORD"],
        }, "payments cluster master secret (RDS-managed shape)")
        pc = ensure_cluster(E.get("PAYMENTS_CLUSTER_ID", "payments-cluster"), c_port,
                            E["PAYMENTS_ADMIN_USER"], E["PAYMENTS_ADMIN_PASSWORD"], "payments")
        kv["PAYMENTS_ADMIN_SECRET_ARN"] = payments_admin
        kv["PAYMENTS_CLUSTER_ARN"] = pc.get("DBClusterArn", "")
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        for k, v in kv.items():
            v = str(v)
            assert "'" not in v, (k, v)
            f.write(f"export {k}='{v}'\n")
    os.replace(tmp, out)
    for k, v in kv.items():
        print(f"  {k}={v}")


if __name__ == "__main__":
    main(sys.argv[1])
