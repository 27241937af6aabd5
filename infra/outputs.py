"""Stack outputs under stable names (docs/DEPLOY.md refers to them: StateMachineArn, ...)."""

from __future__ import annotations

from aws_cdk import CfnOutput
from constructs import Construct


def output(scope: Construct, name: str, value: str, description: str = "") -> CfnOutput:
    out = CfnOutput(scope, name, value=value, description=description or None)
    out.override_logical_id(name)
    return out
