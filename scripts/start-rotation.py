#!/usr/bin/env python3
"""Local stack only (the demo).
  start-rotation.py store NAME SECRET_JSON_FILE   stores the rendered rotation secret as the
                                                  AWSCURRENT version of NAME in moto; prints its ARN
  start-rotation.py start ARN                     starts a rotation the way Secrets Manager does
                                                  (RotateSecret: a new AWSPENDING version with no
                                                  value); prints its id, the steps' ClientRequestToken"""
import subprocess
import sys
from pathlib import Path

import boto3

sm = boto3.client("secretsmanager")
if len(sys.argv) == 4 and sys.argv[1] == "store":
    name, body = sys.argv[2], Path(sys.argv[3]).read_text(encoding="utf-8")
    try:
        print(sm.create_secret(Name=name, SecretString=body)["ARN"])
    except sm.exceptions.ResourceExistsException:
        print(sm.put_secret_value(SecretId=name, SecretString=body, VersionStages=["AWSCURRENT"])["ARN"])
elif len(sys.argv) == 3 and sys.argv[1] == "start":
    standin = subprocess.run([sys.executable, str(Path(__file__).with_name("moto-rotation-lambda.py"))],
                             check=True, capture_output=True, text=True).stdout.strip()
    print(sm.rotate_secret(SecretId=sys.argv[2], RotationLambdaARN=standin,
                           RotationRules={"AutomaticallyAfterDays": 30}, RotateImmediately=True)["VersionId"])
else:
    sys.exit(__doc__)
