"""Issue 24, item 3, offline: cluster A's readers scale with Aurora Auto Scaling, and a stack delete
with auto-scaled readers present neither fails nor leaves an instance behind.

check_reader_scaling(t, scenarios) returns the problems found in a template, in each of the parameter
scenarios scenarios(t) gives (scripts/check_template.py runs it as `reader_scaling`, and shows that it fails
on guard/fixtures/template-before-issue24.yaml, template.yaml as it was before issue 24):

- an AWS::ApplicationAutoScaling::ScalableTarget on rds:cluster:ReadReplicaCount of the link's local
  cluster (the cluster fdw-report reads), MinCapacity and MaxCapacity from Number parameters, MinValue
  at least 0 and MaxValue at most Aurora's 15 replicas, default min <= default max;
- a TargetTrackingScaling ScalingPolicy on that target with a predefined reader metric;
- a Custom::AuroraReplicaCleanup of that cluster served by fdw-bootstrap, whose role may delete
  db:application-autoscaling-* instances;
- the deletion order, in every parameter scenario (SAM-transformed): policy before target, target
  before the cleanup, the cleanup before every DB instance of the cluster and before the cluster.
  CloudFormation deletes a resource before the resources it depends on.
"""
from __future__ import annotations

import json

from template_model import collect_refs, sam_transform

READER_METRICS = {"RDSReaderAverageCPUUtilization", "RDSReaderAverageDatabaseConnections"}
CLEANUP_TYPE = "Custom::AuroraReplicaCleanup"


def _props(r):
    return r.get("Properties", {}) or {}


def _of_type(t, kind):
    return {k: r for k, r in t.get("Resources", {}).items() if r.get("Type") == kind}


def _getatt_target(v):
    if isinstance(v, dict) and set(v) == {"Fn::GetAtt"}:
        g = v["Fn::GetAtt"]
        return g[0] if isinstance(g, list) else str(g).split(".", 1)[0]
    return None


def _local_cluster(t):
    """The cluster the FDW link's foreign tables live on (cluster A), by logical id."""
    for r in _of_type(t, "Custom::FdwLink").values():
        ref = (_props(r).get("LocalCluster") or {}).get("ClusterIdentifier")
        if isinstance(ref, dict) and "Ref" in ref:
            return ref["Ref"]
    return None


def _number_param(t, v, what, problems):
    if not (isinstance(v, dict) and set(v) == {"Ref"} and v["Ref"] in t.get("Parameters", {})):
        problems.append(f"{what} is {json.dumps(v)}: expected a Ref to a parameter")
        return None
    p = t["Parameters"][v["Ref"]]
    if p.get("Type") != "Number":
        problems.append(f"{what}: parameter {v['Ref']} is of type {p.get('Type')}, expected Number")
    if not 0 <= float(p.get("MinValue", -1)) or not float(p.get("MaxValue", 99)) <= 15:
        problems.append(f"{what}: parameter {v['Ref']} needs MinValue >= 0 and MaxValue <= 15 (Aurora's replicas)")
    return p


def check_reader_scaling(t, scenarios):
    problems = []
    cluster = _local_cluster(t)
    if cluster is None:
        return ["no Custom::FdwLink names its LocalCluster by a Ref to a cluster of this template"]
    targets = {k: r for k, r in _of_type(t, "AWS::ApplicationAutoScaling::ScalableTarget").items()
               if _props(r).get("ScalableDimension") == "rds:cluster:ReadReplicaCount"
               and _props(r).get("ServiceNamespace") == "rds"
               and cluster in collect_refs(_props(r).get("ResourceId"))}
    if len(targets) != 1:
        return [f"expected one ScalableTarget on rds:cluster:ReadReplicaCount of {cluster} (the cluster whose "
                f"reader endpoint the reports read), found {sorted(targets) or 'none'}"]
    target_id, target = next(iter(targets.items()))
    lo = _number_param(t, _props(target).get("MinCapacity"), f"{target_id}.MinCapacity", problems)
    hi = _number_param(t, _props(target).get("MaxCapacity"), f"{target_id}.MaxCapacity", problems)
    if lo is not None and hi is not None and float(lo.get("Default", 0)) > float(hi.get("Default", 0)):
        problems.append(f"{target_id}: the default MinCapacity is above the default MaxCapacity")

    policies = {k: r for k, r in _of_type(t, "AWS::ApplicationAutoScaling::ScalingPolicy").items()
                if target_id in collect_refs(_props(r).get("ScalingTargetId"))}
    if not any(_props(r).get("PolicyType") == "TargetTrackingScaling"
               and (_props(r).get("TargetTrackingScalingPolicyConfiguration") or {})
               .get("PredefinedMetricSpecification", {}).get("PredefinedMetricType") in READER_METRICS
               for r in policies.values()):
        problems.append(f"no target-tracking ScalingPolicy on {target_id} with a reader metric ({', '.join(sorted(READER_METRICS))})")

    cleanups = {k: r for k, r in _of_type(t, CLEANUP_TYPE).items()
                if cluster in collect_refs(_props(r).get("ClusterIdentifier"))}
    if len(cleanups) != 1:
        problems.append(f"expected one {CLEANUP_TYPE} of {cluster}, found {sorted(cleanups) or 'none'}: "
                        "CloudFormation's cluster delete fails while auto-scaled readers (not stack resources) remain")
        return problems
    cleanup_id, cleanup = next(iter(cleanups.items()))
    fn = _getatt_target(_props(cleanup).get("ServiceToken"))
    binary = (((t["Resources"].get(fn) or {}).get("Metadata") or {}).get("BuildProperties") or {}).get("Binary")
    if binary != "fdw-bootstrap":
        problems.append(f"{cleanup_id} is served by {fn} (binary {binary}), not fdw-bootstrap, which answers {CLEANUP_TYPE}")

    cfn = sam_transform(t)
    role = _getatt_target(_props(cfn["Resources"].get(fn, {})).get("Role"))
    statements = [s for pid, pr in cfn["Resources"].items() if pr.get("Type") == "AWS::IAM::Role" and pid == role
                  for pol in _props(pr).get("Policies", []) for s in pol.get("PolicyDocument", {}).get("Statement", [])]
    if not any("rds:DeleteDBInstance" in json.dumps(s.get("Action")) and "application-autoscaling-" in json.dumps(s.get("Resource"))
               for s in statements):
        problems.append(f"{fn}'s role may not rds:DeleteDBInstance on db:application-autoscaling-* (what {cleanup_id} deletes)")

    for name, sc in scenarios(cfn).items():
        res = sc.resolved()
        graph = sc.graph(res)
        instances = [k for k, r in res["Resources"].items() if r.get("Type") == "AWS::RDS::DBInstance"
                     and cluster in collect_refs(_props(r).get("DBClusterIdentifier"))]
        order = [(pid, target_id, "the scaling policy is deleted before its target")
                 for pid in policies if pid in res["Resources"]]
        order.append((target_id, cleanup_id, "the scalable target is deregistered before the cleanup runs, so no "
                      "replica is added behind it"))
        order += [(cleanup_id, i, f"the cleanup runs before {i} (a stack instance of {cluster}) is deleted")
                  for i in instances]
        order.append((cleanup_id, cluster, "the cleanup runs before the cluster is deleted"))
        for first, then, why in order:
            if then not in sc.transitive(graph, first):
                problems.append(f"scenario {name}: {first} does not depend on {then}: {why}")
    return problems
