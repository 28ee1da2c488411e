#!/usr/bin/env python3
"""Offline checks of template-existing.yaml, the deploy on clusters that already exist (issue 21).

The template is rendered with existing-cluster parameters (cluster B only; B and C) and SAM-
transformed, and each check asserts what the deploy makes. Every check must PASS on
template-existing.yaml and FAIL on template.yaml (which makes its own clusters), so each is shown
to catch what it guards.

  check            what it proves
  no_cluster       nothing of RDS is made or changed: no AWS::RDS::* resource (no DBCluster, no
                   instance, no subnet or parameter group), no custom resource but Custom::FdwLink
  ingress_rules    exactly these rules on the clusters' own groups: A <- functions (A's port),
                   B <- functions and B <- A (B's port), and C's two with cluster C; no egress rule,
                   no other change to a group the stack did not make
  parameters       the required parameters (no Default) are exactly the VPC, the subnets and five
                   per cluster for A and B; cluster C's are optional and a Rule refuses a half-given C
  per_link         per remote cluster: a link, an FDW role secret, its rotation after its link, its
                   refresh and connections alarms, dashboard panels; distinct server, schema, role;
                   fdw-report reads each link's schema (B's as FDW_REPORT_SCHEMA, C's in
                   FDW_REPORT_LINKS with its own remote_slots), so reports join across all three
  admin_secrets    the admin secrets are parameters, read (GetSecretValue) and never rotated or
                   written by the stack (RDS rotates an RDS-managed master secret itself)
  deletion_order   each link depends on what it needs to answer and to reach A and its cluster
  checkov          checkov (cloudformation) fails nothing outside guard/checkov-baseline-existing.yaml,
                   and every security group rule has a Description in both scenarios

Each check must also fail on its counter-examples: template.yaml, the template before reports
across links (guard/fixtures/template-existing-before-multi-link-reports.yaml), or a broken copy.

Usage: scripts/check_template_existing.py   (run by scripts/check-template.sh)
"""
from __future__ import annotations

import copy
import json
import pathlib
import re
import sys
import tempfile

REPO = pathlib.Path(__file__).resolve().parent.parent
TEMPLATE = REPO / "template-existing.yaml"
COUNTER = REPO / "template.yaml"
BEFORE_REPORTS = REPO / "guard" / "fixtures" / "template-existing-before-multi-link-reports.yaml"
CHECKOV_BASELINE = REPO / "guard" / "checkov-baseline-existing.yaml"

sys.path.insert(0, str(REPO / "scripts"))
from check_template import check_checkov as check_checkov_file, needed_by_link, props, resources  # noqa: E402
from template_model import Scenario, collect_refs, load, sam_transform  # noqa: E402

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:"
NETWORK = {"VpcId": "vpc-0123456789abcdef0", "PrivateSubnetIds": "subnet-0aaa,subnet-0bbb",
           "PrivateRouteTableIds": "rtb-0aaa,rtb-0bbb"}
CLUSTER_A = {"ClusterAIdentifier": "users-prod", "ClusterAEndpoint": "users-prod.cluster-x.us-east-1.rds.amazonaws.com",
             "ClusterADatabase": "users", "ClusterAAdminSecretArn": ARN + "rds!cluster-aaaa-AbCdEf",
             "ClusterASecurityGroupId": "sg-0aaaaaaaaaaaaaaaa"}
CLUSTER_B = {"ClusterBIdentifier": "orders-prod", "ClusterBEndpoint": "orders-prod.cluster-x.us-east-1.rds.amazonaws.com",
             "ClusterBDatabase": "orders", "ClusterBAdminSecretArn": ARN + "rds!cluster-bbbb-AbCdEf",
             "ClusterBSecurityGroupId": "sg-0bbbbbbbbbbbbbbbb", "ClusterBPort": "5433"}
CLUSTER_C = {"ClusterCIdentifier": "payments-prod", "ClusterCEndpoint": "payments-prod.cluster-x.us-east-1.rds.amazonaws.com",
             "ClusterCDatabase": "payments", "ClusterCAdminSecretArn": ARN + "rds!cluster-cccc-AbCdEf",
             "ClusterCSecurityGroupId": "sg-0cccccccccccccccc", "ClusterCLinkName": "payments", "ClusterCPort": "5434"}
REQUIRED = {"VpcId", "PrivateSubnetIds"} | {
    f"Cluster{x}{p}" for x in "AB" for p in ("Identifier", "Endpoint", "Database", "AdminSecretArn", "SecurityGroupId")}


def scenarios():
    b_only = dict(NETWORK, **CLUSTER_A, **CLUSTER_B)
    with_c = dict({**b_only, **CLUSTER_C}, S3ResponsePath="NatOrExistingEndpoint", PrivateRouteTableIds="",
                  InterfaceEndpoints="UseExisting", ExistingEndpointSecurityGroupId="sg-0eeeeeeeeeeeeeeee",
                  LinkLocalRoles="analyst", AlarmEmail="dba@example.com")
    return {"A->B": (b_only, "B"), "A->B,C": (with_c, "BC")}


def rendered(t, values):
    """(scenario on the raw template, the SAM-transformed template as deployed with values)."""
    cfn = sam_transform(t)
    return Scenario(t, values), Scenario(cfn, values).resolved()


def sg_param(v, sc):
    """The parameter a security group id comes from (None when the stack makes the group)."""
    if isinstance(v, dict) and set(v) == {"Ref"} and v["Ref"] in sc.t.get("Parameters", {}):
        return v["Ref"]
    return None


# ------------------------------------------------------------------ checks


def check_no_cluster(t):
    problems = []
    for name, (values, _) in scenarios().items():
        _, cfn = rendered(t, values)
        for rid, r in cfn["Resources"].items():
            typ = r.get("Type", "")
            if typ.startswith("AWS::RDS::"):
                problems.append(f"{name}: {rid} is an {typ}: the existing-cluster deploy makes or changes no RDS resource")
            if (typ.startswith("Custom::") and typ != "Custom::FdwLink") or typ == "AWS::CloudFormation::CustomResource":
                problems.append(f"{name}: {rid} is a custom resource other than Custom::FdwLink ({typ})")
            if typ == "AWS::IAM::Role" and "monitoring.rds.amazonaws.com" in json.dumps(r):
                problems.append(f"{name}: {rid} is an RDS monitoring role: the clusters' monitoring is the user's")
    return problems


def check_ingress_rules(t):
    problems = []
    for name, (values, remotes) in scenarios().items():
        sc, cfn = rendered(t, values)
        params = sc.t.get("Parameters", {})
        want = {("ClusterASecurityGroupId", "functions", "ClusterAPort")}
        for x in remotes:
            want |= {(f"Cluster{x}SecurityGroupId", "functions", f"Cluster{x}Port"),
                     (f"Cluster{x}SecurityGroupId", "ClusterASecurityGroupId", f"Cluster{x}Port")}
        got = set()
        for rid, r in cfn["Resources"].items():
            p = props(r)
            if r.get("Type") == "AWS::EC2::SecurityGroupEgress":
                problems.append(f"{name}: {rid}: an egress rule on {p.get('GroupId')}: the clusters' groups get ingress rules only")
            if r.get("Type") != "AWS::EC2::SecurityGroupIngress":
                continue
            group = sg_param(p.get("GroupId"), sc)
            if group is None or not group.startswith("Cluster"):
                continue
            src = p.get("SourceSecurityGroupId")
            source = "functions" if src == {"Ref": "FunctionSecurityGroup"} else sg_param(src, sc)
            port = p.get("FromPort")
            port_name = port.get("Ref") if isinstance(port, dict) else None
            if p.get("ToPort") != port or port_name not in params:
                problems.append(f"{name}: {rid}: FromPort/ToPort must both be the cluster's port parameter, got {port}..{p.get('ToPort')}")
            if p.get("IpProtocol") != "tcp" or any(k in p for k in ("CidrIp", "CidrIpv6", "SourcePrefixListId")):
                problems.append(f"{name}: {rid}: only tcp from a security group")
            got.add((group, source, port_name))
        for missing in sorted(want - got):
            problems.append(f"{name}: no ingress rule on {missing[0]} from {missing[1]} on {missing[2]}")
        for extra in sorted(got - want):
            problems.append(f"{name}: an ingress rule nobody asked for on {extra[0]} from {extra[1]} on {extra[2]}")
        # Groups the stack makes are its own; every other group id must be a parameter named above.
        for rid, r in cfn["Resources"].items():
            if r.get("Type") == "AWS::EC2::SecurityGroup":
                continue
            for k in ("GroupId",):
                g = props(r).get(k)
                if r.get("Type", "").startswith("AWS::EC2::SecurityGroup") and sg_param(g, sc) and \
                        not sg_param(g, sc).startswith(("Cluster", "ExistingEndpoint")):
                    problems.append(f"{name}: {rid} changes group {g}, which is not a cluster's")
    return problems


def check_parameters(t):
    problems = []
    params = t.get("Parameters", {})
    required = {k for k, p in params.items() if "Default" not in p}
    if required != REQUIRED:
        problems.append(f"required parameters are {sorted(required)}; expected exactly {sorted(REQUIRED)}")
    for x in "ABC":
        for suffix in ("Identifier", "Endpoint", "Port", "Database", "AdminSecretArn", "SecurityGroupId"):
            p = params.get(f"Cluster{x}{suffix}")
            if p is None:
                problems.append(f"no parameter Cluster{x}{suffix}")
            elif suffix not in ("Port",) and "AllowedPattern" not in p:
                problems.append(f"Cluster{x}{suffix} has no AllowedPattern: a typo would surface mid-deploy")
    base = dict(NETWORK, **CLUSTER_A, **CLUSTER_B)
    cases = {
        "B only": (base, False),
        "complete C": (dict(base, **CLUSTER_C), False),
        "C without its secret": ({**base, **CLUSTER_C, "ClusterCAdminSecretArn": ""}, True),
        "C without its group": ({**base, **CLUSTER_C, "ClusterCSecurityGroupId": ""}, True),
        "C named like B": ({**base, **CLUSTER_C, "ClusterCLinkName": "orders"}, True),
        "C is B": ({**base, **CLUSTER_C, "ClusterCIdentifier": "orders-prod"}, True),
    }
    for case, (values, should_fail) in cases.items():
        failed = Scenario(t, values).failed_rules() if t.get("Rules") else []
        if bool(failed) != should_fail:
            problems.append(f"{case}: Rules {'refuse' if failed else 'accept'} it ({failed}); "
                            f"expected {'a refusal' if should_fail else 'acceptance'} before anything is made")
    return problems


def substituted(v, sc):
    """A string, or Fn::Sub text with its ${Parameter}s filled in (None for anything else)."""
    if isinstance(v, str):
        return v
    if isinstance(v, dict) and isinstance(v.get("Fn::Sub"), str):
        return re.sub(r"\$\{([A-Za-z0-9]+)\}", lambda m: str(sc.params.get(m.group(1), m.group(0))), v["Fn::Sub"])
    return None


def report_links_problems(name, sc, res, remotes):
    """fdw-report reads link B's schema as FDW_REPORT_SCHEMA ({{remote}}) and every other link's in
    FDW_REPORT_LINKS ({{remote:<name>}}, with its own remote_slots): reports may join all of them."""
    env = None
    for r in res.values():
        variables = props(r).get("Environment", {}).get("Variables", {})
        if r.get("Type") == "AWS::Lambda::Function" and "FDW_REPORT_SCHEMA" in variables:
            env = variables
    if env is None:
        return [f"{name}: no fdw-report function (FDW_REPORT_SCHEMA)"]
    problems = []
    try:
        named = json.loads(substituted(env.get("FDW_REPORT_LINKS", ""), sc) or "{}")
    except (TypeError, ValueError) as e:
        return [f"{name}: FDW_REPORT_LINKS is not JSON: {e}"]
    for x in remotes:
        imports = props(res.get(f"FdwLink{x}", {})).get("ImportSchemas", [])
        schema = substituted(imports[0].get("LocalSchema"), sc) if imports else None
        if x == "B":
            if substituted(env.get("FDW_REPORT_SCHEMA"), sc) != schema:
                problems.append(f"{name}: FDW_REPORT_SCHEMA is not link B's schema {schema}")
            continue
        mine = [k for k, v in named.items() if isinstance(v, dict) and v.get("schema") == schema]
        if len(mine) != 1:
            problems.append(f"{name}: FDW_REPORT_LINKS does not name link {x}'s schema {schema} once "
                            f"({env.get('FDW_REPORT_LINKS')!r}): no report can join cluster {x}")
        elif not named[mine[0]].get("remote_slots"):
            problems.append(f"{name}: link {x} in FDW_REPORT_LINKS has no remote_slots (its own budget on cluster {x})")
    if len(remotes) == 1 and named:
        problems.append(f"{name}: FDW_REPORT_LINKS names {sorted(named)} without a cluster C")
    return problems


def check_per_link(t):
    problems = []
    for name, (values, remotes) in scenarios().items():
        sc, cfn = rendered(t, values)
        res = cfn["Resources"]
        links = {rid: r for rid, r in res.items() if r.get("Type") == "Custom::FdwLink"}
        if len(links) != len(remotes):
            problems.append(f"{name}: {len(links)} Custom::FdwLink for {len(remotes)} remote cluster(s)")
            continue
        seen = {"ServerName": set(), "LocalSchema": set(), "FdwRoleSecretArn": set()}
        for x in remotes:
            lid = f"FdwLink{x}"
            link = res.get(lid)
            if link is None:
                problems.append(f"{name}: no {lid} for cluster {x}")
                continue
            p = props(link)
            if p.get("RemoteCluster", {}).get("ClusterIdentifier") != {"Ref": f"Cluster{x}Identifier"}:
                problems.append(f"{name}: {lid} does not link cluster {x}")
            secret = p.get("FdwRoleSecretArn")
            seen["ServerName"].add(json.dumps(p.get("ServerName")))
            seen["LocalSchema"].add(json.dumps([s.get("LocalSchema") for s in p.get("ImportSchemas", [])]))
            seen["FdwRoleSecretArn"].add(json.dumps(secret))
            sid = secret.get("Ref") if isinstance(secret, dict) else None
            if res.get(sid, {}).get("Type") != "AWS::SecretsManager::Secret":
                problems.append(f"{name}: {lid}'s FdwRoleSecretArn is not a secret of this stack")
                continue
            if f"Cluster{x}Identifier" not in json.dumps(props(res[sid]).get("Description", "")) and \
                    f"Cluster{x}Endpoint" not in json.dumps(props(res[sid])):
                problems.append(f"{name}: {sid} does not point at cluster {x}")
            rotations = [rid for rid, r in res.items() if r.get("Type") == "AWS::SecretsManager::RotationSchedule"
                         and props(r).get("SecretId") == {"Ref": sid}]
            if len(rotations) != 1:
                problems.append(f"{name}: {sid} has {len(rotations)} rotation schedules, expected 1")
            else:
                deps = res[rotations[0]].get("DependsOn", [])
                if lid not in ([deps] if isinstance(deps, str) else deps):
                    problems.append(f"{name}: {rotations[0]} does not wait for {lid} (the FDW role exists only after it)")
            alarms = [r for r in res.values() if r.get("Type") == "AWS::CloudWatch::Alarm"]
            refresh = [a for a in alarms if props(a).get("MetricName") == "RefreshFailed"
                       and json.dumps(p.get("ServerName")) in json.dumps(props(a).get("Dimensions"))]
            conns = [a for a in alarms if props(a).get("MetricName") == "DatabaseConnections"
                     and {"Ref": f"Cluster{x}Identifier"} in [d.get("Value") for d in props(a).get("Dimensions", [])]]
            if len(refresh) != 1:
                problems.append(f"{name}: {len(refresh)} RefreshFailed alarms on {lid}'s server, expected 1")
            if len(conns) != 1:
                problems.append(f"{name}: {len(conns)} DatabaseConnections alarms on cluster {x}, expected 1")
            board = json.dumps([props(r).get("DashboardBody") for r in res.values() if r.get("Type") == "AWS::CloudWatch::Dashboard"])
            if f"Cluster{x}Identifier" not in board or f"Cluster{x}LinkName" not in board:
                problems.append(f"{name}: the dashboard has no panel for cluster {x} and its link")
        for key, values_seen in seen.items():
            if len(values_seen) != len(remotes):
                problems.append(f"{name}: links share a {key} ({sorted(values_seen)}): each needs its own")
        problems += report_links_problems(name, sc, res, remotes)
    return problems


def check_admin_secrets(t):
    problems = []
    for name, (values, remotes) in scenarios().items():
        sc, cfn = rendered(t, values)
        res = cfn["Resources"]
        admin = {f"Cluster{x}AdminSecretArn" for x in "A" + remotes}
        missing = admin - set(sc.t.get("Parameters", {}))
        if missing:
            problems.append(f"{name}: admin secrets {sorted(missing)} are not parameters")
            continue
        for rid, r in res.items():
            typ = r.get("Type")
            refs = set(collect_refs(props(r)))
            if typ in ("AWS::SecretsManager::RotationSchedule", "AWS::SecretsManager::SecretTargetAttachment",
                       "AWS::SecretsManager::ResourcePolicy") and refs & admin:
                problems.append(f"{name}: {rid} ({typ}) acts on an admin secret: RDS rotates an RDS-managed master secret itself")
            if typ == "AWS::IAM::Role":
                for pol in props(r).get("Policies", []):
                    for st in pol.get("PolicyDocument", {}).get("Statement", []):
                        actions = st.get("Action")
                        actions = [actions] if isinstance(actions, str) else actions or []
                        if set(collect_refs(st.get("Resource"))) & admin and \
                                any(a != "secretsmanager:GetSecretValue" for a in actions):
                            problems.append(f"{name}: {rid} may {actions} on an admin secret: read only")
        boot = [r for r in res.values() if r.get("Type") == "AWS::IAM::Role" and
                any(set(collect_refs(st.get("Resource"))) >= admin
                    for pol in props(r).get("Policies", []) for st in pol.get("PolicyDocument", {}).get("Statement", []))]
        if not boot:
            problems.append(f"{name}: no function may read every admin secret ({sorted(admin)})")
    return problems


def check_deletion_order(t):
    problems = []
    for name, (values, remotes) in scenarios().items():
        cfn_t = sam_transform(t)
        sc = Scenario(cfn_t, values)
        cfn = sc.resolved()
        graph = sc.graph(cfn)
        links = [k for k, r in cfn["Resources"].items() if r.get("Type") == "Custom::FdwLink"]
        if not links:
            problems.append(f"{name}: no link")
        for lid in links:
            x = lid.removeprefix("FdwLink")
            others = {f"Cluster{o}IngressFromFunctions" for o in "BC" if o != x} | \
                     {f"Cluster{o}IngressFromClusterA" for o in "BC" if o != x}
            deps = sc.transitive(graph, lid)
            for rid, why in sorted(needed_by_link(cfn, graph, lid).items()):
                if rid in others or rid not in cfn["Resources"]:
                    continue
                if rid not in deps:
                    problems.append(f"{name}: {lid} does not depend on {rid} ({why})")
    return problems


def rules_without_description(t):
    """Security group rules (inline or resources) without a Description, in each scenario."""
    problems = []
    for name, (values, _) in scenarios().items():
        cfn = Scenario(t, values).resolved()
        for rid, r in cfn["Resources"].items():
            p = props(r)
            if r.get("Type") == "AWS::EC2::SecurityGroup":
                rules = [(f"{rid}.{k}", rule) for k in ("SecurityGroupIngress", "SecurityGroupEgress")
                         for rule in (p.get(k) or [])]
            elif r.get("Type") in ("AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress"):
                rules = [(rid, p)]
            else:
                continue
            for where, rule in rules:
                if not isinstance(rule, dict) or not rule.get("Description"):
                    problems.append(f"{name}: a rule of {where} has no Description")
    return problems


def check_checkov(t):
    """checkov on the template (as JSON, which is YAML), judged by its own baseline; the baseline's
    CKV_AWS_23 entry holds only while every rule really has a Description."""
    with tempfile.TemporaryDirectory(prefix="fdw-existing-") as tmp:
        # The file itself, as check_template.py runs checkov on template.yaml; a broken copy as JSON.
        path = TEMPLATE if t == load(TEMPLATE) else pathlib.Path(tmp) / "template.json"
        if path != TEMPLATE:
            path.write_text(json.dumps(t, indent=1))
        problems, stale = check_checkov_file(path, CHECKOV_BASELINE)
    problems += [f"{CHECKOV_BASELINE.relative_to(REPO)}: {c} on {r} no longer fails: remove the entry" for c, r in stale]
    return problems + rules_without_description(t)


def without_key_rotation(t):
    """template-existing.yaml with the alarm topic's key not rotated (checkov CKV_AWS_7)."""
    broken = copy.deepcopy(t)
    broken["Resources"]["AlarmTopicKey"]["Properties"]["EnableKeyRotation"] = False
    return broken


def without_link_c_observability(t):
    """template-existing.yaml with one set of alarms and dashboard panels (link B's) for two links."""
    broken = copy.deepcopy(t)
    for rid in ("LinkRefreshFailedAlarmC", "ClusterCConnectionsAlarm"):
        broken["Resources"].pop(rid, None)
    body = broken["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Join"][1]
    broken["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Join"][1] = [
        part for part in body if not (isinstance(part, dict) and "Fn::If" in part)]
    return broken


def without_link_dependencies(t):
    """template-existing.yaml with link B's DependsOn dropped: the rules it needs would go first."""
    broken = copy.deepcopy(t)
    broken["Resources"]["FdwLinkB"].pop("DependsOn", None)
    return broken


# check -> the templates it must fail on: None is template.yaml (which makes its own clusters), a
# path a fixture (the template as it was), a function a broken copy of template-existing.yaml.
CHECKS = {
    "no_cluster": (check_no_cluster, [None]),
    "ingress_rules": (check_ingress_rules, [None]),
    "parameters": (check_parameters, [None]),
    "per_link": (check_per_link, [None, BEFORE_REPORTS, without_link_c_observability]),
    "admin_secrets": (check_admin_secrets, [None]),
    "deletion_order": (check_deletion_order, [without_link_dependencies]),
    "checkov": (check_checkov, [without_key_rotation]),
}


def counter_example(counter, t):
    """(its name, the template) of a counter-example."""
    if counter is None:
        return COUNTER.name, load(COUNTER)
    if isinstance(counter, pathlib.Path):
        return str(counter.relative_to(REPO)), load(counter)
    return counter.__name__, counter(t)


def main():
    ok = True
    t = load(TEMPLATE)
    for name, (check, counters) in CHECKS.items():
        problems = check(t)
        if problems:
            ok = False
            print(f"FAIL {name} on {TEMPLATE.name}:")
            for p in problems:
                print(f"     {p}")
            continue
        for counter in counters:
            what, against = counter_example(counter, t)
            try:
                caught = check(against)
            except (KeyError, ValueError, AttributeError, TypeError) as e:
                caught = [f"{type(e).__name__}: {e}"]
            if not caught:
                ok = False
                print(f"FAIL {name}: passes on {what} too, so it proves nothing")
            else:
                print(f"ok   {name} ({len(caught)} problem(s) on {what}, e.g. {caught[0][:110]})")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
