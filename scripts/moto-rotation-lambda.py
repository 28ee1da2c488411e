#!/usr/bin/env python3
"""Local stack only: makes moto's Secrets Manager able to start a rotation the
way AWS does (RotateSecret creates the AWSPENDING version, with no value yet,
that the four steps then fill in). moto wants a rotation Lambda that exists in
its own Lambda service: this switches moto's Lambda to its docker-less mode
(invocations are accepted and do nothing) and registers a stand-in function.
The real fdw-rotate steps are then driven by the caller (tests, demo) under
cargo lambda. Prints the stand-in's ARN; safe to run again."""
import io
import json
import os
import sys
import urllib.request
import zipfile

import boto3

endpoint = os.environ.get("AWS_ENDPOINT_URL")
if not endpoint:
    sys.exit("AWS_ENDPOINT_URL is not set: source .stack/env (this script is for the local stack's moto only)")
request = urllib.request.Request(
    endpoint + "/moto-api/config",
    data=json.dumps({"lambda": {"use_docker": False}}).encode(),
    headers={"Content-Type": "application/json"},
    method="POST",
)
urllib.request.urlopen(request, timeout=10).read()

name = "fdw-rotate-moto-standin"
iam = boto3.client("iam")
try:
    role = iam.get_role(RoleName=name)["Role"]["Arn"]
except iam.exceptions.NoSuchEntityException:
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                       "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
lam = boto3.client("lambda")
try:
    arn = lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
except lam.exceptions.ResourceNotFoundException:
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as z:
        z.writestr("bootstrap", "#!/bin/sh\n")
    arn = lam.create_function(FunctionName=name, Runtime="provided.al2023", Role=role, Handler="bootstrap",
                              Code={"ZipFile": code.getvalue()})["FunctionArn"]
print(arn)
