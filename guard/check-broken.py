#!/usr/bin/env python3
"""Proves that every cfn-guard rule in guard/rules can fail.

For each rule, one mutation of template.yaml breaks exactly what the rule guards
(an unencrypted cluster, a 0.0.0.0/0 ingress, a "*" secret resource, ...). The
broken copy is written as JSON into a temporary directory and validated against
all rules: the targeted rule must FAIL. The unmodified template must PASS every
rule, and every rule file must have a mutation here (a new rule without one fails).

Usage: guard/check-broken.py [path/to/cfn-guard]   (run by scripts/check-template.sh)
"""
import copy
import json
import pathlib
import re
import subprocess
import sys
import tempfile

from cfnlint.decode import cfn_yaml

REPO = pathlib.Path(__file__).resolve().parent.parent
RULES = REPO / "guard" / "rules"
GUARD = sys.argv[1] if len(sys.argv) > 1 else str(REPO / ".tools" / "bin" / "cfn-guard")


def resources(t, kind):
    return [r for r in t["Resources"].values() if r.get("Type") == kind]


def first(t, kind):
    found = resources(t, kind)
    if not found:
        sys.exit(f"check-broken: template.yaml has no {kind} to break")
    return found[0]


def fn_statements(t, logical_id):
    return t["Resources"][logical_id]["Properties"]["Policies"][0]["Statement"]


def unencrypted_cluster(t):
    first(t, "AWS::RDS::DBCluster")["Properties"]["StorageEncrypted"] = False


def unencrypted_queue(t):
    props = first(t, "AWS::SQS::Queue")["Properties"]
    props.pop("SqsManagedSseEnabled", None)
    props.pop("KmsMasterKeyId", None)


def unencrypted_topic(t):
    first(t, "AWS::SNS::Topic")["Properties"].pop("KmsMasterKeyId")


def ssl_not_forced(t):
    first(t, "AWS::RDS::DBClusterParameterGroup")["Properties"]["Parameters"]["rds.force_ssl"] = "0"


def default_parameter_group(t):
    first(t, "AWS::RDS::DBCluster")["Properties"]["DBClusterParameterGroupName"] = "default.aurora-postgresql16"


def fdw_link_without_verification(t):
    first(t, "Custom::FdwLink")["Properties"]["ServerOptions"]["SslMode"] = "require"


def public_instance(t):
    first(t, "AWS::RDS::DBInstance")["Properties"]["PubliclyAccessible"] = True


def open_inline_ingress(t):
    first(t, "AWS::EC2::SecurityGroup")["Properties"]["SecurityGroupIngress"] = [
        {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "CidrIp": "0.0.0.0/0"}
    ]


def open_ingress_resource(t):
    rule = first(t, "AWS::EC2::SecurityGroupIngress")["Properties"]
    rule.pop("SourceSecurityGroupId", None)
    rule["CidrIpv6"] = "::/0"


def wildcard_secret_and_db_user(t):
    fn_statements(t, "FdwBootstrapFunction").append(
        {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": "*"}
    )
    fn_statements(t, "FdwReportFunction").append(
        {"Effect": "Allow", "Action": "rds-db:connect",
         "Resource": "arn:aws:rds-db:us-east-1:123456789012:dbuser:cluster-ABC/*"}
    )


def log_group_without_retention(t):
    first(t, "AWS::Logs::LogGroup")["Properties"].pop("RetentionInDays")


def function_with_default_log_group(t):
    first(t, "AWS::Serverless::Function")["Properties"]["LoggingConfig"].pop("LogGroup")


def cluster_without_snapshot(t):
    cluster = first(t, "AWS::RDS::DBCluster")
    cluster["DeletionPolicy"] = "Delete"


# rule file stem / rule name -> the mutation that must make it fail
BREAKS = {
    "encryption_at_rest/cluster_storage_encrypted": unencrypted_cluster,
    "encryption_at_rest/queue_encrypted": unencrypted_queue,
    "encryption_at_rest/topic_encrypted": unencrypted_topic,
    "tls_forced/cluster_parameter_group_forces_ssl": ssl_not_forced,
    "tls_forced/cluster_uses_template_parameter_group": default_parameter_group,
    "tls_forced/fdw_link_verifies_certificates": fdw_link_without_verification,
    "no_public_access/db_instances_not_public": public_instance,
    "no_public_access/no_open_inline_ingress": open_inline_ingress,
    "no_public_access/no_open_ingress_resources": open_ingress_resource,
    "no_wildcard_secret_access/no_wildcard_resource_on_secrets_or_db_users": wildcard_secret_and_db_user,
    "log_retention/log_groups_have_retention": log_group_without_retention,
    "log_retention/functions_log_to_retained_group": function_with_default_log_group,
    "cluster_deletion_policy/cluster_deletion_policy": cluster_without_snapshot,
}


def statuses(data_file):
    """cfn-guard's verdict per rule: {"file/rule": "PASS"|"FAIL"|"SKIP"}."""
    out = subprocess.run(
        [GUARD, "validate", "-r", str(RULES), "-d", str(data_file), "-S", "all"],
        capture_output=True, text=True,
    )
    if out.returncode not in (0, 19):
        sys.exit(f"check-broken: cfn-guard failed to run (exit {out.returncode}):\n{out.stderr}{out.stdout}")
    found = {}
    for line in out.stdout.splitlines():
        m = re.match(r"^(\w+)\.guard/(\w+)\s+(PASS|FAIL|SKIP)$", line.strip())
        if m:
            found[f"{m.group(1)}/{m.group(2)}"] = m.group(3)
    return found


def declared_rules():
    names = set()
    for path in sorted(RULES.glob("*.guard")):
        for m in re.finditer(r"^rule\s+(\w+)", path.read_text(), re.MULTILINE):
            names.add(f"{path.stem}/{m.group(1)}")
    return names


def main():
    template = cfn_yaml.load(str(REPO / "template.yaml"))
    problems = []
    declared = declared_rules()
    for missing in sorted(declared - BREAKS.keys()):
        problems.append(f"rule {missing} has no deliberately broken template in guard/check-broken.py")
    for stale in sorted(BREAKS.keys() - declared):
        problems.append(f"guard/check-broken.py breaks {stale}, which no rule file declares")

    with tempfile.TemporaryDirectory(prefix="fdw-guard-") as tmp:
        clean = pathlib.Path(tmp) / "template.json"
        clean.write_text(json.dumps(template))
        verdict = statuses(clean)
        for rule in sorted(declared):
            if verdict.get(rule) == "FAIL" or rule not in verdict:
                problems.append(f"template.yaml: rule {rule} is {verdict.get(rule, 'not reported')}, expected PASS or SKIP")
        for rule, mutate in sorted(BREAKS.items()):
            if rule not in declared:
                continue
            broken = copy.deepcopy(template)
            mutate(broken)
            path = pathlib.Path(tmp) / f"broken-{rule.replace('/', '-')}.json"
            path.write_text(json.dumps(broken))
            got = statuses(path).get(rule, "not reported")
            mark = "fails as it should" if got == "FAIL" else f"is {got}: the rule cannot catch it"
            print(f"  {rule:<75} {mutate.__name__}: {mark}")
            if got != "FAIL":
                problems.append(f"broken copy {mutate.__name__}: rule {rule} is {got}, expected FAIL")
    if problems:
        print("check-broken: " + "\n  ".join(["FAILED"] + problems), file=sys.stderr)
        sys.exit(1)
    print(f"check-broken: all {len(declared)} guard rules pass on template.yaml and fail on their broken copy")


if __name__ == "__main__":
    main()
