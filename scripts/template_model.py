"""A small model of a CloudFormation template for the offline checks (scripts/check_template.py).

- load(): the template as plain JSON-like data (short-form tags in their long form);
- sam_transform(): the SAM transform, offline (samtranslator from the SAM CLI's venv);
- Scenario: parameter values -> conditions, Fn::If branches, which resources exist, which Rules
  reject the values, and the dependency graph CloudFormation derives (Ref, Fn::GetAtt, Fn::Sub,
  DependsOn) for the resources that exist.
"""
from __future__ import annotations

import copy
import json
import logging
import os
import re

logging.getLogger("samtranslator").setLevel(logging.ERROR)

NO_VALUE = object()


def _plain(v):
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    if isinstance(v, bool) or v is None:
        return v
    if isinstance(v, int):
        return int(v)
    if isinstance(v, float):
        return float(v)
    return str(v)


def load(path):
    from cfnlint.decode import cfn_yaml
    return _plain(cfn_yaml.load(str(path)))


def sam_transform(t):
    """The CloudFormation template SAM would deploy (local CodeUri/ContentUri become S3 URIs)."""
    if t.get("Transform") != "AWS::Serverless-2016-10-31" and "AWS::Serverless-2016-10-31" not in (t.get("Transform") or []):
        return copy.deepcopy(t)
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    t = copy.deepcopy(t)
    for rid, r in t.get("Resources", {}).items():
        p = r.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(p.get(key), str) and not p[key].startswith("s3://"):
                p[key] = f"s3://fdw-bridge-offline/{rid}.zip"
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    return _plain(Translator({}, Parser()).translate(
        t, {"AWS::Region": "us-east-1", "AWS::Partition": "aws", "AWS::AccountId": "123456789012"}))


SUB_VAR = re.compile(r"\$\{([^}!][^}]*)\}")


def sub_names(sub):
    text, names = (sub, {}) if isinstance(sub, str) else (sub[0], sub[1] or {})
    out = []
    for m in SUB_VAR.finditer(text):
        name = m.group(1).split(".", 1)[0]
        if name not in names:
            out.append(name)
    return out, names


def collect_refs(v):
    """Every logical name v references (Ref, Fn::GetAtt, Fn::Sub variables), both If branches."""
    out = []
    if isinstance(v, dict):
        for k, x in v.items():
            if k == "Ref" and isinstance(x, str):
                out.append(x)
            elif k == "Fn::GetAtt":
                out.append(x[0] if isinstance(x, list) else str(x).split(".", 1)[0])
            elif k == "Fn::Sub":
                names, inner = sub_names(x)
                out.extend(names)
                out.extend(collect_refs(inner))
            else:
                out.extend(collect_refs(x))
    elif isinstance(v, list):
        for x in v:
            out.extend(collect_refs(x))
    return out


class Scenario:
    def __init__(self, template, values):
        self.t = template
        self.params = {}
        for name, p in template.get("Parameters", {}).items():
            raw = values.get(name, p.get("Default"))
            typ = p.get("Type", "String")
            if raw is None:
                raw = f"placeholder-{name}"
            if typ == "CommaDelimitedList" or typ.startswith("List<"):
                raw = raw if isinstance(raw, list) else [s.strip() for s in str(raw).split(",")]
            elif not isinstance(raw, str):
                raw = str(raw) if not isinstance(raw, bool) else str(raw).lower()
            self.params[name] = raw
        self._conditions = {}

    # ------------------------------------------------------------ values
    def condition(self, name):
        if name not in self._conditions:
            self._conditions[name] = None  # cycle guard
            self._conditions[name] = bool(self.value(self.t["Conditions"][name]))
        return self._conditions[name]

    def value(self, v):
        """Evaluates what can be known offline; resource attributes become placeholders."""
        if isinstance(v, dict) and len(v) == 1:
            (k, x), = v.items()
            if k == "Ref":
                if x == "AWS::NoValue":
                    return NO_VALUE
                if x in self.params:
                    return self.params[x]
                return f"ref:{x}"
            if k == "Condition":
                return self.condition(x)
            if k == "Fn::If":
                return self.value(x[1] if self.condition(x[0]) else x[2])
            if k == "Fn::Equals":
                a, b = (self.value(i) for i in x)
                return str(a).lower() == str(b).lower() if isinstance(a, (str, bool)) and isinstance(b, (str, bool)) else a == b
            if k == "Fn::Not":
                return not self.value(x[0])
            if k == "Fn::And":
                return all(self.value(i) for i in x)
            if k == "Fn::Or":
                return any(self.value(i) for i in x)
            if k == "Fn::Join":
                items = self.value(x[1])
                return x[0].join(str(i) for i in items if i is not NO_VALUE)
            if k == "Fn::Split":
                return str(self.value(x[1])).split(x[0])
            if k == "Fn::Select":
                items = self.value(x[1])
                return items[int(self.value(x[0]))]
            if k == "Fn::EachMemberEquals":
                items, s = self.value(x[0]), self.value(x[1])
                return all(i == s for i in items)
            if k == "Fn::EachMemberIn":
                items, allowed = self.value(x[0]), self.value(x[1])
                return all(i in allowed for i in items)
            if k == "Fn::Contains":
                items, s = self.value(x[0]), self.value(x[1])
                return s in items
            if k in ("Fn::GetAtt", "Fn::Sub", "Fn::ImportValue", "Fn::GetAZs", "Fn::Base64", "Fn::Cidr"):
                return f"{k}:{json.dumps(x)}"
            return {k: self.value(x)}
        if isinstance(v, dict):
            out = {}
            for k, x in v.items():
                val = self.value(x)
                if val is not NO_VALUE:
                    out[k] = val
            return out
        if isinstance(v, list):
            return [i for i in (self.value(x) for x in v) if i is not NO_VALUE]
        return v

    def created(self, rid):
        cond = self.t["Resources"][rid].get("Condition")
        return cond is None or self.condition(cond)

    def failed_rules(self):
        failed = []
        for name, rule in (self.t.get("Rules") or {}).items():
            if "RuleCondition" in rule and not self.value(rule["RuleCondition"]):
                continue
            for a in rule.get("Assertions", []):
                if not self.value(a["Assert"]):
                    failed.append(name)
        return failed

    # ------------------------------------------------------------ graph
    def _prune(self, v):
        """v with Fn::If resolved and AWS::NoValue removed; other intrinsics kept."""
        if isinstance(v, dict) and len(v) == 1 and "Fn::If" in v:
            x = v["Fn::If"]
            return self._prune(x[1] if self.condition(x[0]) else x[2])
        if isinstance(v, dict) and v == {"Ref": "AWS::NoValue"}:
            return NO_VALUE
        if isinstance(v, dict):
            out = {}
            for k, x in v.items():
                val = self._prune(x)
                if val is not NO_VALUE:
                    out[k] = val
            return out
        if isinstance(v, list):
            return [i for i in (self._prune(x) for x in v) if i is not NO_VALUE]
        return v

    def resolved(self):
        """The template as deployed with these values: resources whose condition is false are
        gone, Fn::If takes its branch."""
        t = copy.deepcopy(self.t)
        t["Resources"] = {rid: self._prune(r) for rid, r in t["Resources"].items() if self.created(rid)}
        return t

    @staticmethod
    def graph(cfn):
        res = cfn["Resources"]
        g = {}
        for rid, r in res.items():
            deps = set(x for x in collect_refs(r.get("Properties", {})) if x in res)
            d = r.get("DependsOn", [])
            deps |= set([d] if isinstance(d, str) else d)
            missing = [x for x in deps if x not in res]
            if missing:
                raise ValueError(f"{rid} depends on {missing}, which the scenario does not create")
            g[rid] = deps
        return g

    @staticmethod
    def transitive(graph, start):
        seen, todo = set(), [start]
        while todo:
            for d in graph.get(todo.pop(), ()):
                if d not in seen:
                    seen.add(d)
                    todo.append(d)
        return seen
