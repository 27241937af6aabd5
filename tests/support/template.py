"""Reading a synthesized CloudFormation template the way the tests compare it.

Logical ids carry hashes; the tests name resources by their construct path
instead (``Pipeline/ListNewRole``), and render intrinsic functions as
readable strings: ``{"Fn::GetAtt": [<lake>, "Arn"]}`` -> ``<Storage/Lake.Arn>``,
``{"Ref": "AWS::Region"}`` -> ``${AWS::Region}``, joins concatenated.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

ASSET_KEY = re.compile(r"[0-9a-f]{64}(\.\w+)?")


@dataclass
class Template:
    body: dict[str, Any]
    stack_id: str = "Clickstream"

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return dict(self.body["Resources"])

    def path(self, logical_id: str) -> str:
        """Construct path under the stack, without the trailing /Resource."""
        if logical_id not in self.resources:  # a parameter or a condition
            return logical_id
        raw = self.resources[logical_id].get("Metadata", {}).get("aws:cdk:path", logical_id)
        raw = raw.removeprefix(f"{self.stack_id}/")
        for suffix in ("/Resource", "/Default"):
            raw = raw.removesuffix(suffix)
        return str(raw)

    def of_type(self, cfn_type: str) -> dict[str, dict[str, Any]]:
        """Resources of one type, keyed by construct path."""
        return {self.path(k): v for k, v in self.resources.items() if v["Type"] == cfn_type}

    def one(self, cfn_type: str, path: str) -> dict[str, Any]:
        found = self.of_type(cfn_type)
        assert path in found, f"no {cfn_type} at {path}; there are: {sorted(found)}"
        return found[path]

    def logical_id(self, path: str) -> str:
        for logical_id in self.resources:
            if self.path(logical_id) == path:
                return logical_id
        raise KeyError(path)

    def text(self, value: Any) -> str:
        """An intrinsic-function value as one readable string."""
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float, bool)):
            return json.dumps(value)
        if isinstance(value, dict) and len(value) == 1:
            (fn, arg), *_ = value.items()
            if fn == "Ref":
                return f"${{{arg}}}" if arg.startswith("AWS::") else f"<{self.path(arg)}>"
            if fn == "Fn::GetAtt":
                return f"<{self.path(arg[0])}.{arg[1]}>"
            if fn == "Fn::Join":
                return str(arg[0]).join(self.text(part) for part in arg[1])
            if fn == "Fn::Sub" and isinstance(arg, str):
                return arg
            if fn == "Fn::Select":
                return f"Select({arg[0]}, {self.text(arg[1])})"
            if fn == "Fn::GetAZs":
                return "GetAZs"
            if fn == "Fn::Base64":
                return self.text(arg)
        return json.dumps(value, sort_keys=True)

    def resolve(self, value: Any) -> Any:
        """Every intrinsic inside a structure rendered with ``text``."""
        if isinstance(value, dict):
            if len(value) == 1 and next(iter(value)).startswith(("Fn::", "Ref")):
                return self.text(value)
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value

    # -- IAM ---------------------------------------------------------------------
    def role_permissions(self, role_path: str) -> set[tuple[str, str, str]]:
        """Every (action, resource, condition) a role is allowed, from all policies attached to it.

        Statements are flattened to single action x resource grants, so the
        comparison does not depend on how CDK merges statements. Asset object
        keys (content hashes) are shown as <asset>.
        """
        role_id = self.logical_id(role_path)
        role = self.resources[role_id]["Properties"]
        assert not role.get("ManagedPolicyArns"), f"{role_path} has managed policies"
        documents = [p["PolicyDocument"] for p in role.get("Policies", [])]
        for resource in self.resources.values():
            if resource["Type"] == "AWS::IAM::Policy" and {"Ref": role_id} in resource["Properties"]["Roles"]:
                documents.append(resource["Properties"]["PolicyDocument"])
        grants: set[tuple[str, str, str]] = set()
        for document in documents:
            for statement in document["Statement"]:
                assert statement["Effect"] == "Allow", statement
                assert "NotAction" not in statement and "NotResource" not in statement, statement
                actions = _as_list(statement["Action"])
                resources = _as_list(statement["Resource"])
                condition = json.dumps(self.resolve(statement.get("Condition", {})), sort_keys=True)
                for action in actions:
                    for resource in resources:
                        text = ASSET_KEY.sub("<asset>", self.text(resource))
                        grants.add((action, text, "" if condition == "{}" else condition))
        return grants

    def roles(self) -> set[str]:
        return set(self.of_type("AWS::IAM::Role"))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
