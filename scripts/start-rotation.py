#!/usr/bin/env python3
"""Local stack only (the demo): stores a rendered rotation secret as the
AWSCURRENT version of secret NAME in moto, then starts a rotation the way
Secrets Manager does (RotateSecret: a new AWSPENDING version with no value,
whose id is the ClientRequestToken of the four steps). Prints "ARN TOKEN"."""
import subprocess
import sys
from pathlib import Path

import boto3

if len(sys.argv) != 3:
    sys.exit("usage: start-rotation.py NAME SECRET_JSON_FILE")
name, body = sys.argv[1], Path(sys.argv[2]).read_text(encoding="utf-8")
sm = boto3.client("secretsmanager")
try:
    arn = sm.create_secret(Name=name, SecretString=body)["ARN"]
except sm.exceptions.ResourceExistsException:
    arn = sm.put_secret_value(SecretId=name, SecretString=body)["ARN"]
standin = subprocess.run([sys.executable, str(Path(__file__).with_name("moto-rotation-lambda.py"))],
                         check=True, capture_output=True, text=True).stdout.strip()
token = sm.rotate_secret(SecretId=arn, RotationLambdaARN=standin,
                         RotationRules={"AutomaticallyAfterDays": 30}, RotateImmediately=True)["VersionId"]
print(arn, token)
