"""cdk-nag acknowledgments: every one names the exact finding and says why, on the construct it is about.

cdk-nag 3 uses CDK's own ``Validations.of(construct).acknowledge(...)``; an
IAM5 (wildcard) finding is acknowledged one resource or action at a time,
as ``AwsSolutions-IAM5[Resource::<the resource>]``.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, CfnElement, Stack, Validations
from constructs import IConstruct

# Resources as cdk-nag prints them.
ANY = "*"
XRAY_REASON = "X-Ray PutTraceSegments/PutTelemetryRecords have no resource-level permissions (IAM: '*' only)."
METRICS_REASON = (
    "cloudwatch:GetMetricData has no resource-level permissions (IAM: '*' only); notify reads the "
    "AWS/Lambda Invocations and Errors of the pipeline's functions with it for the health snapshot."
)
ENI_REASON = (
    "A function in a VPC needs ec2:CreateNetworkInterface/DescribeNetworkInterfaces/"
    "DeleteNetworkInterface/AssignPrivateIpAddresses/UnassignPrivateIpAddresses, which IAM grants "
    "on '*' only (the ENIs do not exist before the function does)."
)


def acknowledge(construct: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge one rule (or one finding, ``Rule[Finding]``) on one construct, with the reason."""
    if not reason.strip():
        raise ValueError(f"{rule}: an acknowledgment needs a reason")
    Validations.of(construct).acknowledge(Acknowledgment(id=rule, reason=reason))


def acknowledge_wildcard(construct: IConstruct, resource: str, reason: str) -> None:
    """Acknowledge one AwsSolutions-IAM5 finding (``Resource::...`` or ``Action::...``)."""
    acknowledge(construct, f"AwsSolutions-IAM5[{resource}]", reason)


def attribute(element: CfnElement, attribute_name: str) -> str:
    """A resource attribute as cdk-nag prints it in a finding: ``<LogicalId.Attribute>``."""
    logical_id = Stack.of(element).resolve(element.logical_id)
    return f"<{logical_id}.{attribute_name}>"
