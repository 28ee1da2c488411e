#!/usr/bin/env python3
"""Offline checks of template.yaml for what a first `sam deploy` needs (issue 12).

Each check reads a template and returns its problems. Every check must PASS on template.yaml
and FAIL on guard/fixtures/template-before-issue12.yaml (the template as it was when the
findings were made), so that each check is shown to catch what it guards, as
guard/check-broken.py does for the cfn-guard rules.

  finding  check                 what it proves
  1        engine_version        EngineVersion's default and every allowed value can create a cluster
  1        lint_inlined          cfn-lint is clean on a copy with every parameter default inlined
  2        ca_pinned             one CACertificateIdentifier parameter on every instance; the
                                 sslrootcert default is the file AWS documents
  3        rolls_back            DeletionProtection defaults to false; ServiceTimeout on every
                                 custom resource, a few minutes above its function's timeout
  4        deletion_order        in each parameter scenario, every resource the link needs is a
                                 transitive dependency of it (deleted after it); SAM-transformed
  4        fails_fast            no S3 path, no deploy: a Rule rejects the default parameters
                                 without route tables (or the S3 endpoint is made)
  5        reuse_endpoints       a parameter lets an existing VPC keep its interface endpoints
  6        alarm_topic_cmk       alarm topics use a template KMS key that admits cloudwatch.amazonaws.com
  7        data_api              Data API on the link's local cluster except on db.t* classes; an
                                 output with the aws rds-data execute-statement JOIN
  8        report_secrets        fdw-report never gets a master secret, in any branch
  9        no_fixed_names        no fixed physical name (SAM-transformed): absent, or from the stack
  10       observability         log exports, Performance Insights, B-connections and rotation
                                 alarms, a dashboard with the EMF metrics of shared/report/src/emf.rs
  11       checkov               checkov (cloudformation) fails nothing outside guard/checkov-baseline.yaml
  18       tested_majors         EngineVersion allows only the PostgreSQL majors the stack runs
                                 (stack/postgres-versions.tsv) and make test-versions links across;
                                 its default's major is the one make test runs (Makefile PG_MAJOR)
  24       reader_scaling        cluster A's readers scale (ScalableTarget + target tracking, min/max
                                 parameters); delete order policy -> target -> replica cleanup ->
                                 A's instances and cluster (scripts/check_reader_scaling.py); shown to
                                 fail on guard/fixtures/template-before-issue24.yaml instead

Usage: scripts/check_template.py [--only CHECK ...]   (run by scripts/check-template.sh)
"""
from __future__ import annotations

import argparse
import copy
import itertools
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile

REPO = pathlib.Path(__file__).resolve().parent.parent
TEMPLATE = REPO / "template.yaml"
FIXTURE = REPO / "guard" / "fixtures" / "template-before-issue12.yaml"
# A check of a later issue is shown to fail on the template as it was before that issue.
FIXTURE_FOR = {"reader_scaling": REPO / "guard" / "fixtures" / "template-before-issue24.yaml"}
BASELINE = REPO / "guard" / "checkov-baseline.yaml"
CHECKOV = pathlib.Path(os.environ.get("FDW_CHECKOV", REPO / ".venv-checkov" / "bin" / "checkov"))
VENV_BIN = REPO / ".venv" / "bin"

sys.path.insert(0, str(REPO / "scripts"))
from template_model import Scenario, collect_refs, load, sam_transform  # noqa: E402
from check_reader_scaling import check_reader_scaling  # noqa: E402

KC_CA_FILE = "/rdsdbdata/rds-metadata/server-cert.pem"
KC_CA_BUNDLE_FILE = "/rdsdbdata/rds-metadata/ca-cert.pem"


# ------------------------------------------------------------------ helpers


def resources(t, kind=None):
    return {k: r for k, r in t.get("Resources", {}).items() if kind is None or r.get("Type") == kind}


def props(r):
    return r.get("Properties", {}) or {}


def is_ref(v, name=None):
    return isinstance(v, dict) and set(v) == {"Ref"} and (name is None or v["Ref"] == name)


def getatt_target(v):
    if isinstance(v, dict) and set(v) == {"Fn::GetAtt"}:
        g = v["Fn::GetAtt"]
        return g[0] if isinstance(g, list) else str(g).split(".", 1)[0]
    return None


def links(t):
    return {k: r for k, r in resources(t).items() if r.get("Type", "").startswith("Custom::")
            or r.get("Type") == "AWS::CloudFormation::CustomResource"}


def fdw_links(t):
    return resources(t, "Custom::FdwLink")


def functions_by_binary(t):
    out = {}
    for k, r in resources(t, "AWS::Serverless::Function").items():
        b = (r.get("Metadata", {}).get("BuildProperties") or {}).get("Binary")
        if b:
            out[b] = k
    return out


def function_timeout(t, logical_id):
    r = t["Resources"][logical_id]
    glob = (t.get("Globals", {}) or {}).get("Function", {}) or {}
    return props(r).get("Timeout", glob.get("Timeout", 3))


def scenarios(t):
    """Parameter values a real deploy could use: the defaults (with a VPC, subnets and route
    tables) and the alternatives every option offers. Unknown parameter names are ignored."""
    base = {"VpcId": "vpc-0123456789abcdef0", "PrivateSubnetIds": "subnet-0aaa,subnet-0bbb",
            "PrivateRouteTableIds": "rtb-0aaa,rtb-0bbb"}
    alt = dict(base, S3ResponsePath="NatOrExistingEndpoint", PrivateRouteTableIds="",
               InterfaceEndpoints="UseExisting", ExistingEndpointSecurityGroupId="sg-0123456789abcdef0",
               DBInstanceClass="db.t4g.medium",
               ReportReaderSecretArn="arn:aws:secretsmanager:us-east-1:123456789012:secret:r-AbCdEf",
               ReportWriterSecretArn="arn:aws:secretsmanager:us-east-1:123456789012:secret:w-AbCdEf",
               ImportTables="orders,order_items", LinkLocalRoles="fdw_report_reader",
               AlarmEmail="dba@example.com")
    only_reuse = dict(base, InterfaceEndpoints="UseExisting")
    provisioned = dict(base, DBInstanceClass="db.r7g.large")
    return {"defaults": Scenario(t, base), "alternatives": Scenario(t, alt),
            "reuse-endpoints-only": Scenario(t, only_reuse), "provisioned": Scenario(t, provisioned)}


# ------------------------------------------------------------------ finding 1


def cfnlint_engine_data():
    import cfnlint.data.schemas.extensions.aws_rds_dbcluster as ext
    base = pathlib.Path(ext.__file__).parent

    def versions(name):
        for blk in json.loads((base / name).read_text()).get("allOf", []):
            cond = blk.get("if", {}).get("properties", {})
            if cond.get("Engine", {}).get("const") == "aurora-postgresql":
                then = blk.get("then")
                if then is False:
                    return set(cond["EngineVersion"]["enum"])
                return set(then["properties"]["EngineVersion"]["enum"])
        return set()

    return versions("engine_version.json"), versions("engine_version_deprecated.json")


def check_engine_version(t):
    known, deprecated = cfnlint_engine_data()
    problems = []
    for cid, c in resources(t, "AWS::RDS::DBCluster").items():
        v = props(c).get("EngineVersion")
        if is_ref(v):
            p = t["Parameters"][v["Ref"]]
            values = [("Default", p.get("Default"))] + [("AllowedValues", a) for a in p.get("AllowedValues", [])]
        else:
            values = [("EngineVersion", v)]
        for where, val in values:
            val = str(val)
            if val in deprecated:
                problems.append(f"{cid}: {where} {val} is deprecated: it cannot create a new cluster (cfn-lint W3690)")
            elif val not in known:
                problems.append(f"{cid}: {where} {val} is not an aurora-postgresql version cfn-lint knows")
        if is_ref(v) and "AllowedValues" not in t["Parameters"][v["Ref"]]:
            problems.append(f"{cid}: parameter {v['Ref']} has no AllowedValues: any version could be typed")
    return problems


def tested_majors():
    """(majors the stack runs, majors make test-versions pairs, the major make test runs)."""
    stack = {
        line.split("\t")[0]
        for line in (REPO / "stack" / "postgres-versions.tsv").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    script = (REPO / "scripts" / "test-versions.sh").read_text()
    pairs = re.search(r"\|\| pairs=\(([0-9: ]+)\)", script)
    paired = {m for pair in pairs.group(1).split() for m in pair.split(":")} if pairs else set()
    default = re.search(r"^export PG_MAJOR \?= (\d+)$", (REPO / "Makefile").read_text(), re.M)
    return stack, paired, default.group(1) if default else None


def check_tested_majors(t):
    stack, paired, make_default = tested_majors()
    problems = []
    p = t["Parameters"].get("EngineVersion")
    if p is None:
        return ["no EngineVersion parameter"]
    allowed = p.get("AllowedValues")
    if not allowed:
        return [f"EngineVersion has no AllowedValues: any major could be deployed, tested are {sorted(stack)}"]
    for v in allowed:
        major = str(v).split(".")[0]
        if major not in stack:
            problems.append(f"EngineVersion allows {v}: PostgreSQL {major} is not one the stack runs ({sorted(stack)})")
        elif major not in paired:
            problems.append(f"EngineVersion allows {v}: make test-versions links no cluster of PostgreSQL {major}")
    default_major = str(p.get("Default", "")).split(".")[0]
    if default_major != make_default:
        problems.append(
            f"EngineVersion's default {p.get('Default')} is PostgreSQL {default_major}; make test runs PG_MAJOR {make_default}"
        )
    return problems


def inline_defaults(t):
    """A copy of t where Resources and Outputs use each non-empty parameter default directly."""
    t = copy.deepcopy(t)
    params = t.get("Parameters", {})
    defaults = {}
    for name, p in params.items():
        d = p.get("Default")
        if d is None or d == "" or d == []:
            continue
        typ = p.get("Type", "String")
        if typ == "CommaDelimitedList" or typ.startswith("List<"):
            d = [s.strip() for s in str(d).split(",")]
        defaults[name] = d

    def walk(v):
        if isinstance(v, dict):
            if set(v) == {"Ref"} and v["Ref"] in defaults:
                return copy.deepcopy(defaults[v["Ref"]])
            if set(v) == {"Fn::Sub"}:
                sub = v["Fn::Sub"]
                text, names = (sub, {}) if isinstance(sub, str) else (sub[0], sub[1])
                for name, d in defaults.items():
                    if name not in names and not isinstance(d, list):
                        text = text.replace("${" + name + "}", str(d))
                return {"Fn::Sub": text if isinstance(sub, str) else [text, walk(names)]}
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        return v

    for section in ("Resources", "Outputs", "Globals"):
        if section in t:
            t[section] = walk(t[section])
    still_used = set(collect_refs({k: t.get(k) for k in ("Resources", "Outputs", "Conditions", "Rules", "Globals")}))
    for name in list(params):
        if name in defaults and name not in still_used:
            del params[name]
    for group in t.get("Metadata", {}).get("AWS::CloudFormation::Interface", {}).get("ParameterGroups", []):
        group["Parameters"] = [p for p in group.get("Parameters", []) if p in params]
    return t


def check_lint_inlined(t):
    inlined = inline_defaults(t)
    with tempfile.TemporaryDirectory(prefix="fdw-inlined-") as tmp:
        path = pathlib.Path(tmp) / "template-inlined.json"
        path.write_text(json.dumps(inlined, indent=1))
        out = subprocess.run([str(VENV_BIN / "cfn-lint"), str(path)], capture_output=True, text=True)
    if out.returncode == 0:
        return []
    lines = [l for l in out.stdout.splitlines() if re.match(r"^[EWI]\d{4} ", l)]
    return [f"cfn-lint on the defaults-inlined copy: {l}" for l in lines] or [out.stdout + out.stderr]


# ------------------------------------------------------------------ finding 2


def check_ca_pinned(t):
    problems = []
    instances = resources(t, "AWS::RDS::DBInstance")
    used = set()
    for iid, i in instances.items():
        v = props(i).get("CACertificateIdentifier")
        if not is_ref(v):
            problems.append(f"{iid}: CACertificateIdentifier is {v!r}, not a parameter shared by every instance")
        else:
            used.add(v["Ref"])
    if len(used) > 1:
        problems.append(f"instances use different CA parameters {sorted(used)}: both clusters must chain to one CA")
    for name in used:
        p = t["Parameters"].get(name, {})
        if not str(p.get("Default", "")).startswith("rds-ca-"):
            problems.append(f"parameter {name}: default {p.get('Default')!r} is not an RDS CA (rds-ca-...)")
    # SslRootCert: left out by default, so that fdw-bootstrap finds the CA file on cluster A
    # (ssl_ca_file / ssl_cert_file, the files the knowledge-center article names) with a
    # probe; given only as an optional override whose parameter defaults to empty.
    for lid, link in fdw_links(t).items():
        root = props(link).get("ServerOptions", {}).get("SslRootCert")
        if root is None:
            continue
        branches = root.get("Fn::If") if isinstance(root, dict) else None
        if branches and len(branches) == 3 and branches[2] == {"Ref": "AWS::NoValue"} and is_ref(branches[1]):
            d = t["Parameters"].get(branches[1]["Ref"], {}).get("Default")
            if d not in ("", None):
                problems.append(f"{lid}: SslRootCert override {branches[1]['Ref']} defaults to {d!r}: "
                                "leave it empty so that fdw-bootstrap finds the CA file on cluster A")
        elif root not in (KC_CA_FILE, KC_CA_BUNDLE_FILE):
            problems.append(f"{lid}: SslRootCert {root!r} is neither left to detection nor a file "
                            f"the knowledge-center article names ({KC_CA_FILE}, {KC_CA_BUNDLE_FILE})")
    return problems


# ------------------------------------------------------------------ finding 3


def check_rolls_back(t):
    problems = []
    for cid, c in resources(t, "AWS::RDS::DBCluster").items():
        v = props(c).get("DeletionProtection", False)
        if is_ref(v):
            d = str(t["Parameters"][v["Ref"]].get("Default", "")).lower()
            if d != "false":
                problems.append(f"{cid}: DeletionProtection defaults to {d}: a failed first create cannot delete the cluster")
        elif str(v).lower() == "true":
            problems.append(f"{cid}: DeletionProtection is true: a failed first create cannot delete the cluster")
    for lid, link in links(t).items():
        p = props(link)
        target = getatt_target(p.get("ServiceToken"))
        timeout = function_timeout(t, target) if target in t["Resources"] else None
        st = p.get("ServiceTimeout")
        if st is None:
            problems.append(f"{lid}: no ServiceTimeout: an unanswered request waits the default 3600 s")
            continue
        try:
            st = int(st)
        except (TypeError, ValueError):
            problems.append(f"{lid}: ServiceTimeout {st!r} is not a whole number of seconds")
            continue
        if not 1 <= st <= 3600:
            problems.append(f"{lid}: ServiceTimeout {st} is outside 1..3600")
        if timeout is not None and not (int(timeout) + 60 <= st <= int(timeout) + 900):
            problems.append(f"{lid}: ServiceTimeout {st} s should be a few minutes above the function's timeout ({timeout} s)")
    return problems


# ------------------------------------------------------------------ finding 4

NETWORK_AND_DATA_TYPES = {
    "AWS::EC2::VPCEndpoint", "AWS::EC2::SecurityGroup", "AWS::EC2::SecurityGroupIngress",
    "AWS::EC2::SecurityGroupEgress", "AWS::EC2::Route", "AWS::EC2::RouteTable",
    "AWS::EC2::SubnetRouteTableAssociation", "AWS::EC2::NatGateway",
    "AWS::RDS::DBCluster", "AWS::RDS::DBInstance", "AWS::RDS::DBSubnetGroup",
    "AWS::RDS::DBClusterParameterGroup", "AWS::Lambda::LayerVersion",
}


def needed_by_link(cfn, graph, link_id):
    """What a link needs to answer CloudFormation and reach both clusters."""
    link = cfn["Resources"][link_id]
    need = {}
    fn = getatt_target(props(link).get("ServiceToken"))
    if fn:
        need[fn] = "serves the link (ServiceToken)"
        fp = props(cfn["Resources"][fn])
        role = getatt_target(fp.get("Role"))
        if role:
            need[role] = f"{fn}'s execution role"
            for pid, pr in cfn["Resources"].items():
                if pr.get("Type") in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy") and \
                        any(is_ref(r, role) for r in props(pr).get("Roles", [])):
                    need[pid] = f"a policy of {fn}'s role"
        for target in collect_refs(fp.get("LoggingConfig", {})):
            if target in cfn["Resources"]:
                need[target] = f"{fn}'s log group"
    for rid, r in cfn["Resources"].items():
        if r.get("Type") in NETWORK_AND_DATA_TYPES:
            need.setdefault(rid, f"network path or cluster ({r['Type']})")
    for target in collect_refs(props(link)):
        r = cfn["Resources"].get(target)
        if r and r.get("Type") == "AWS::SecretsManager::Secret":
            need[target] = "a secret the link reads"
    return need


def check_deletion_order(t):
    problems = []
    cfn_template = sam_transform(t)
    for name, sc in scenarios(cfn_template).items():
        cfn = sc.resolved()
        graph = sc.graph(cfn)
        for lid in [k for k, r in cfn["Resources"].items() if r.get("Type") == "Custom::FdwLink"]:
            deps = sc.transitive(graph, lid)
            for rid, why in sorted(needed_by_link(cfn, graph, lid).items()):
                if rid not in deps:
                    problems.append(f"scenario {name}: {lid} does not depend on {rid} ({why}): "
                                    f"a stack delete may remove it before the link's Delete has answered")
    return problems


def check_fails_fast(t):
    """Without a path to S3 the link's answer never arrives. With every default (and no route
    tables) either the S3 gateway endpoint is made or a Rule rejects the parameters; and no
    scenario makes the endpoint without route tables."""
    problems = []
    base = {"VpcId": "vpc-0123456789abcdef0", "PrivateSubnetIds": "subnet-0aaa,subnet-0bbb",
            "PrivateRouteTableIds": ""}
    sc = Scenario(t, base)
    s3 = [k for k, r in resources(t, "AWS::EC2::VPCEndpoint").items()
          if "s3" in json.dumps(props(r).get("ServiceName", "")) and props(r).get("VpcEndpointType") == "Gateway"]
    made = [k for k in s3 if sc.created(k)]
    failed_rules = sc.failed_rules()
    if not made and not failed_rules:
        problems.append("defaults without PrivateRouteTableIds: no S3 gateway endpoint and no Rule rejects the "
                        "parameters: the link's answer cannot reach S3 and CloudFormation waits for it")
    if not failed_rules:
        for k in made:
            if sc.value({"Ref": "PrivateRouteTableIds"}) in ([], [""]):
                problems.append(f"{k} would be made without route tables")
    return problems


# ------------------------------------------------------------------ finding 5


def check_reuse_endpoints(t):
    interface = [k for k, r in resources(t, "AWS::EC2::VPCEndpoint").items()
                 if props(r).get("VpcEndpointType") == "Interface"]
    if not interface:
        return ["no interface endpoint at all: functions in private subnets cannot reach Secrets Manager"]
    sc = scenarios(t)
    made_by_default = [k for k in interface if sc["defaults"].created(k)]
    reused = [k for k in interface if not sc["reuse-endpoints-only"].created(k)]
    problems = []
    if not made_by_default:
        problems.append("the defaults make no interface endpoint")
    if set(reused) != set(interface):
        problems.append(f"no parameter reuses existing endpoints: {sorted(set(interface) - set(reused))} are always made "
                        "(a second private-DNS endpoint for the same service fails to create)")
    return problems


# ------------------------------------------------------------------ finding 6


def check_alarm_topic_cmk(t):
    problems = []
    topics = set()
    for aid, a in resources(t, "AWS::CloudWatch::Alarm").items():
        for action in props(a).get("AlarmActions", []):
            if is_ref(action) and action["Ref"] in t["Resources"]:
                topics.add(action["Ref"])
    if not topics:
        return ["no alarm publishes to a topic of the template"]
    for tid in sorted(topics):
        key = props(t["Resources"][tid]).get("KmsMasterKeyId")
        kid = key["Ref"] if is_ref(key) else getatt_target(key)
        if kid is None or t["Resources"].get(kid, {}).get("Type") != "AWS::KMS::Key":
            problems.append(f"{tid}: KmsMasterKeyId {key!r} is not a customer-managed key of this template "
                            "(CloudWatch cannot publish to a topic encrypted with alias/aws/sns)")
            continue
        statements = props(t["Resources"][kid]).get("KeyPolicy", {}).get("Statement", [])
        ok = False
        for s in statements:
            principal = s.get("Principal", {})
            services = principal.get("Service", []) if isinstance(principal, dict) else []
            services = [services] if isinstance(services, str) else services
            actions = s.get("Action", [])
            actions = [actions] if isinstance(actions, str) else actions
            if s.get("Effect") == "Allow" and "cloudwatch.amazonaws.com" in services and \
                    "kms:Decrypt" in actions and any(a.startswith("kms:GenerateDataKey") for a in actions):
                ok = True
        if not ok:
            problems.append(f"{kid}: the key policy does not let cloudwatch.amazonaws.com kms:Decrypt and kms:GenerateDataKey*")
    return problems


# ------------------------------------------------------------------ finding 7


def check_data_api(t):
    problems = []
    local_clusters = set()
    for lid, link in fdw_links(t).items():
        cid = props(link).get("LocalCluster", {}).get("ClusterIdentifier")
        if is_ref(cid):
            local_clusters.add(cid["Ref"])
    if not local_clusters:
        return ["no FdwLink with a LocalCluster.ClusterIdentifier of this template"]
    classes = t["Parameters"].get("DBInstanceClass", {}).get("AllowedValues", [])
    for cid in sorted(local_clusters):
        v = props(t["Resources"][cid]).get("EnableHttpEndpoint")
        if v is None or v is False or str(v).lower() == "false":
            problems.append(f"{cid}: EnableHttpEndpoint is not set: no Data API on the link's local cluster")
            continue
        if not (isinstance(v, dict) and "Fn::If" in v):
            problems.append(f"{cid}: EnableHttpEndpoint {v!r} is not conditional on the instance class (no Data API on db.t*)")
            continue
        cond = v["Fn::If"][0]
        for cls in classes:
            sc = Scenario(t, {"VpcId": "vpc-1", "PrivateSubnetIds": "subnet-a,subnet-b",
                              "PrivateRouteTableIds": "rtb-a", "DBInstanceClass": cls})
            on = sc.value(v)
            want = not cls.startswith("db.t")
            if bool(on) != want or str(on).lower() not in ("true", "false"):
                problems.append(f"{cid}: with DBInstanceClass={cls} EnableHttpEndpoint is {on!r}, expected {want} "
                                f"(condition {cond})")
    outputs = [(k, o) for k, o in t.get("Outputs", {}).items()
               if "aws rds-data execute-statement" in json.dumps(o.get("Value"))]
    if not outputs:
        problems.append("no output with an `aws rds-data execute-statement` command")
    for k, o in outputs:
        text = json.dumps(o["Value"])
        for needle, why in (("--resource-arn", "the cluster"), ("--secret-arn", "a secret"),
                            ("--sql", "the statement"), ("JOIN", "a join"), ("orders_remote.", "the foreign tables")):
            if needle not in text:
                problems.append(f"output {k}: no {needle} ({why})")
        if not any(c in text for c in local_clusters):
            problems.append(f"output {k}: does not name the link's local cluster")
    return problems


# ------------------------------------------------------------------ finding 8


def check_report_secrets(t):
    problems = []
    fn = functions_by_binary(t).get("fdw-report")
    if not fn:
        return ["no fdw-report function"]
    r = t["Resources"][fn]
    env = props(r).get("Environment", {}).get("Variables", {})
    names = ("FDW_REPORT_READER_SECRET_ARN", "FDW_REPORT_WRITER_SECRET_ARN")
    for name in names:
        if "MasterUserSecret" in json.dumps(env.get(name)):
            problems.append(f"{fn}: {name} can be a cluster's master user secret (in some branch)")
    for s in props(r).get("Policies", [{}])[0].get("Statement", []) if props(r).get("Policies") else []:
        if "secretsmanager" in json.dumps(s.get("Action")) and "MasterUserSecret" in json.dumps(s.get("Resource")):
            problems.append(f"{fn}: statement {s.get('Sid')} grants access to a master user secret")
    for pname in ("ReportReaderSecretArn", "ReportWriterSecretArn"):
        if pname not in t.get("Parameters", {}):
            problems.append(f"no parameter {pname} (override of the generated report secret)")
    return problems


# ------------------------------------------------------------------ finding 9

NAME_PROPS = {
    "AWS::Scheduler::Schedule": ["Name"], "AWS::Scheduler::ScheduleGroup": ["Name"],
    "AWS::Events::Rule": ["Name"], "AWS::CloudWatch::Alarm": ["AlarmName"],
    "AWS::CloudWatch::CompositeAlarm": ["AlarmName"], "AWS::CloudWatch::Dashboard": ["DashboardName"],
    "AWS::IAM::Role": ["RoleName"], "AWS::IAM::ManagedPolicy": ["ManagedPolicyName"],
    "AWS::IAM::InstanceProfile": ["InstanceProfileName"], "AWS::Logs::LogGroup": ["LogGroupName"],
    "AWS::Lambda::Function": ["FunctionName"], "AWS::Lambda::LayerVersion": ["LayerName"],
    "AWS::SNS::Topic": ["TopicName"], "AWS::SQS::Queue": ["QueueName"],
    "AWS::SecretsManager::Secret": ["Name"], "AWS::RDS::DBCluster": ["DBClusterIdentifier"],
    "AWS::RDS::DBInstance": ["DBInstanceIdentifier"], "AWS::RDS::DBSubnetGroup": ["DBSubnetGroupName"],
    "AWS::RDS::DBClusterParameterGroup": ["DBClusterParameterGroupName"],
    "AWS::RDS::DBParameterGroup": ["DBParameterGroupName"], "AWS::EC2::SecurityGroup": ["GroupName"],
    "AWS::KMS::Alias": ["AliasName"], "AWS::SSM::Parameter": ["Name"],
    "AWS::StepFunctions::StateMachine": ["StateMachineName"], "AWS::S3::Bucket": ["BucketName"],
    "AWS::DynamoDB::Table": ["TableName"],
}


def check_no_fixed_names(t):
    problems = []
    cfn = sam_transform(t)
    for rid, r in cfn["Resources"].items():
        for prop in NAME_PROPS.get(r.get("Type"), []):
            if prop not in props(r):
                continue
            v = props(r)[prop]
            text = json.dumps(v)
            if "AWS::StackName" not in text and "AWS::StackId" not in text:
                problems.append(f"{rid} ({r['Type']}): {prop} {text} is the same in every stack of the account "
                                "(derive it from AWS::StackName or leave it to CloudFormation)")
    return problems


# ------------------------------------------------------------------ finding 10


def emf_metrics():
    """The namespace and every metric the functions print as EMF lines (reports and link refreshes)."""
    # The runtime kit writes every EMF envelope; each function's line names its metrics as (name, unit).
    envelope = (REPO / "shared" / "runtime" / "src" / "emf.rs").read_text()
    ns = re.search(r'pub const NAMESPACE: &str = "([^"]+)"', envelope).group(1)
    names = []
    for source in ("report/src/emf.rs", "bootstrap/src/refresh.rs"):
        text = (REPO / "shared" / source).read_text()
        names += [n for n in re.findall(r'\("([A-Za-z]+)", (?:COUNT|MILLISECONDS)\)', text) if n not in names]
    if not names:
        raise SystemExit("check_template.py: no EMF metric found in the functions' sources (did the lines move?)")
    return ns, names


def check_observability(t):
    problems = []
    clusters = resources(t, "AWS::RDS::DBCluster")
    for cid, c in clusters.items():
        if "postgresql" not in props(c).get("EnableCloudwatchLogsExports", []):
            problems.append(f"{cid}: EnableCloudwatchLogsExports lacks postgresql")
    for iid, i in resources(t, "AWS::RDS::DBInstance").items():
        if str(props(i).get("EnablePerformanceInsights", "false")).lower() != "true":
            problems.append(f"{iid}: Performance Insights is off")
    remote = set()
    for link in fdw_links(t).values():
        cid = props(link).get("RemoteCluster", {}).get("ClusterIdentifier")
        if is_ref(cid):
            remote.add(cid["Ref"])
    alarms = resources(t, "AWS::CloudWatch::Alarm")

    def alarm_on(namespace, metric, dim_value_ref):
        for a in alarms.values():
            p = props(a)
            if p.get("Namespace") == namespace and p.get("MetricName") == metric and \
                    any(is_ref(d.get("Value"), dim_value_ref) for d in p.get("Dimensions", [])) and p.get("AlarmActions"):
                return True
        return False

    for cid in sorted(remote):
        if not alarm_on("AWS/RDS", "DatabaseConnections", cid):
            problems.append(f"no alarm (with an action) on {cid}'s DatabaseConnections (the remote cluster)")
    rotate = functions_by_binary(t).get("fdw-rotate")
    if rotate and not alarm_on("AWS/Lambda", "Errors", rotate):
        problems.append(f"no alarm (with an action) on failed rotations ({rotate} Errors)")
    # Issue 10: CloudFormation sends Update only when a property changes, so a schedule refreshes
    # the links, and a failed refresh raises an alarm.
    bootstrap = functions_by_binary(t).get("fdw-bootstrap")
    if fdw_links(t):
        events = props(t["Resources"][bootstrap]).get("Events", {}) if bootstrap else {}
        if not any(e.get("Type") == "ScheduleV2" and re.search(r"Action\W+Refresh", json.dumps(props(e).get("Input")))
                   for e in events.values()):
            problems.append("no schedule refreshes the links (a ScheduleV2 event of fdw-bootstrap sending Action Refresh):"
                            " tables and columns added on cluster B never reach A without a stack update")
        if not any(props(a).get("MetricName") == "RefreshFailed" and props(a).get("AlarmActions")
                   for a in alarms.values()):
            problems.append("no alarm (with an action) on the RefreshFailed metric: a failed link refresh goes unnoticed")
    dashboards = resources(t, "AWS::CloudWatch::Dashboard")
    if not dashboards:
        problems.append("no AWS::CloudWatch::Dashboard")
    ns, names = emf_metrics()
    for did, d in dashboards.items():
        body = json.dumps(props(d).get("DashboardBody"))
        wanted = [ns] + names + ["DatabaseConnections", "CPUUtilization", "Errors"]
        wanted += [f"${{{c}}}" for c in sorted(remote)]
        if rotate:
            wanted.append(f"${{{rotate}}}")
        for w in wanted:
            if w not in body:
                problems.append(f"{did}: the dashboard does not show {w}")
    return problems


# ------------------------------------------------------------------ finding 11


def load_baseline(baseline=BASELINE):
    import yaml  # PyYAML comes with cfn-lint and the SAM CLI
    data = yaml.safe_load(baseline.read_text()) or {}
    entries = data.get("skips", [])
    problems = []
    for i, e in enumerate(entries):
        if not str(e.get("reason", "")).strip():
            problems.append(f"{baseline.name} entry {i} ({e.get('check')}): no reason")
        if "\n" in str(e.get("reason", "")).strip():
            problems.append(f"{baseline.name} entry {i} ({e.get('check')}): the reason must be one line")
        if not e.get("check") or not e.get("resources"):
            problems.append(f"{baseline.name} entry {i}: needs check and resources")
    return entries, problems


def run_checkov(path):
    if not CHECKOV.exists():
        sys.exit(f"check_template: {CHECKOV} is missing: run make tools (scripts/install-tools.sh)")
    env = dict(os.environ, BC_SKIP_MAPPING="TRUE", CHECKOV_RUN_SCA_PACKAGE_SCAN_V2="false",
               PYTHONWARNINGS="ignore", LOG_LEVEL="WARNING", CKV_IGNORE_HIDDEN_DIRECTORIES="true")
    with tempfile.TemporaryDirectory(prefix="fdw-checkov-") as tmp:
        # A copy in an empty directory: checkov reads nothing else (no repo config, no git).
        target = pathlib.Path(tmp) / "template.yaml"
        target.write_text(pathlib.Path(path).read_text())
        out = subprocess.run(
            [str(CHECKOV), "-f", str(target), "--framework", "cloudformation", "--skip-download",
             "--quiet", "-o", "json"],
            capture_output=True, text=True, env=env, timeout=300, cwd=tmp,
        )
    if out.returncode not in (0, 1):
        raise RuntimeError(f"checkov failed to run (exit {out.returncode}): {out.stderr[-2000:]}")
    report = json.loads(out.stdout) if out.stdout.strip() else {}
    if isinstance(report, list):
        report = report[0]
    failed = report.get("results", {}).get("failed_checks", [])
    return {(f["check_id"], f["resource"].split(".", 1)[1]) for f in failed}, {
        f["check_id"]: f["check_name"] for f in failed}


def check_checkov(t_path, baseline=BASELINE):
    """(checkov's failures on t_path that baseline does not justify, baseline entries that no longer fail)."""
    entries, problems = load_baseline(baseline)
    failed, names = run_checkov(t_path)
    allowed = {(e["check"], r) for e in entries for r in e.get("resources", [])}
    for check, res in sorted(failed - allowed):
        problems.append(f"checkov {check} ({names.get(check, '?')}) fails on {res}, and "
                        f"{baseline.relative_to(REPO)} does not justify it")
    return problems, sorted(allowed - failed)


# ------------------------------------------------------------------ runner

CHECKS = {
    "engine_version": (1, check_engine_version),
    "lint_inlined": (1, check_lint_inlined),
    "ca_pinned": (2, check_ca_pinned),
    "rolls_back": (3, check_rolls_back),
    "deletion_order": (4, check_deletion_order),
    "fails_fast": (4, check_fails_fast),
    "reuse_endpoints": (5, check_reuse_endpoints),
    "alarm_topic_cmk": (6, check_alarm_topic_cmk),
    "data_api": (7, check_data_api),
    "report_secrets": (8, check_report_secrets),
    "no_fixed_names": (9, check_no_fixed_names),
    "observability": (10, check_observability),
    "checkov": (11, None),
    "tested_majors": (18, check_tested_majors),
    "reader_scaling": (24, lambda t: check_reader_scaling(t, scenarios)),
}


def run(name, path, t):
    if name == "checkov":
        problems, stale = check_checkov(path)
        return problems, stale
    try:
        return CHECKS[name][1](t) or [], []
    except Exception as e:  # a check that crashes on a template has not passed on it
        return [f"the check crashed: {type(e).__name__}: {e}"], []


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="*", choices=sorted(CHECKS), help="run only these checks")
    ap.add_argument("-v", "--verbose", action="store_true", help="print each problem found on the fixture too")
    args = ap.parse_args()
    names = args.only or list(CHECKS)
    current = load(TEMPLATE)
    olds = {}
    failures = []
    for name in names:
        finding = CHECKS[name][0]
        fixture = FIXTURE_FOR.get(name, FIXTURE)
        old = olds.setdefault(fixture, load(fixture))
        now, stale = run(name, TEMPLATE, current)
        before, _ = run(name, fixture, old)
        verdict_now = "PASS" if not now else "FAIL"
        verdict_before = "FAIL" if before else "PASS"
        first = before[0] if before else "nothing found"
        print(f"  finding {finding:>2} {name:<16} template.yaml {verdict_now}; fixture {verdict_before}: {first}")
        if args.verbose:
            for p in before[1:]:
                print(f"{'':>38}{p}")
        for p in now:
            failures.append(f"template.yaml: {name}: {p}")
        for s in stale:
            failures.append(f"{BASELINE.relative_to(REPO)}: {s[0]} on {s[1]} no longer fails: remove the entry")
        if not before:
            failures.append(f"{name}: passes on the fixture {fixture.relative_to(REPO)}: it cannot catch the finding")
    if failures:
        print("check_template: FAILED\n  " + "\n  ".join(failures), file=sys.stderr)
        sys.exit(1)
    print(f"check_template: all {len(names)} checks pass on template.yaml and fail on their fixtures (guard/fixtures/)")


if __name__ == "__main__":
    main()
