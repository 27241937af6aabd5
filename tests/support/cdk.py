"""The CDK app synthesized offline, and what several infra test files check on it.

Bundling runs in "source" mode: sources are copied, nothing is pip-installed,
so the tests need no network and no Docker. aws_cdk and cdk_nag are imported
only when a synth or a check runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra import constants as c
from tests.support.template import Template

DASHBOARD_DOMAIN = "dashboards.example.com"
DASHBOARD_CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
CDK_CLI = c.INFRA_DIR / "node_modules" / ".bin" / "cdk"
# W3005: CDK adds an explicit DependsOn on a function's (or state machine's) role next to the
# GetAtt of it; redundant, harmless, and not ours to change.
CFN_LINT_IGNORED = ["W3005"]


def app_context(**extra: str) -> dict[str, Any]:
    """cdk.json's context (feature flags), as `cdk synth` would pass it, plus source bundling."""
    context = dict(json.loads((c.INFRA_DIR / "cdk.json").read_text())["context"])
    context[c.BUNDLING_CONTEXT] = c.BUNDLING_SOURCE
    context[c.REGION_CONTEXT] = c.DEFAULT_REGION  # whatever CDK_DEFAULT_REGION says
    context["aws:cdk:enable-path-metadata"] = True  # what the CLI sets: resources carry aws:cdk:path
    context.update(extra)
    return context


@dataclass
class Synth:
    app: Any  # aws_cdk.App
    outdir: Path
    template: Template


def synthesize(outdir: Path, **extra: str) -> Synth:
    from infra.app import build_app

    app = build_app(app_context(**extra), nag=False, outdir=str(outdir))
    app.synth()
    body = json.loads((outdir / f"{c.STACK_ID}.template.json").read_text())
    return Synth(app=app, outdir=outdir, template=Template(body))


@dataclass
class CliSynth:
    process: subprocess.Popen[str] | None  # None: the CLI is not installed
    outdir: Path


def cli_environment() -> dict[str, str]:
    """This virtualenv's python first on PATH (cdk.json runs `python app.py`), no AWS credentials."""
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    for credential in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        env.pop(credential, None)
    return env


# -- checks on a synthesized app ------------------------------------------------------------------
def nag_findings(synth: Synth) -> list[str]:
    """cdk-nag AwsSolutions findings that are not acknowledged."""
    from cdk_nag import AwsSolutionsChecks

    report = AwsSolutionsChecks().validate_scope(synth.app)
    return [
        f"{violation.rule_name} at {resource.construct_path}: {violation.description}"
        for violation in report.violations
        for resource in violation.violating_resources
    ]


def cfn_lint_findings(synth: Synth, region: str = c.DEFAULT_REGION) -> list[str]:
    from cfnlint.api import lint
    from cfnlint.config import ManualArgs

    text = (synth.outdir / f"{c.STACK_ID}.template.json").read_text()
    matches = lint(text, config=ManualArgs(regions=[region], ignore_checks=CFN_LINT_IGNORED))
    return [f"{m.rule.id} {m.message} ({m.path})" for m in matches]


# -- buckets ---------------------------------------------------------------------------------------
BLOCK_ALL = {
    "BlockPublicAcls": True,
    "BlockPublicPolicy": True,
    "IgnorePublicAcls": True,
    "RestrictPublicBuckets": True,
}


def bucket_policy(template: Template, bucket: str) -> list[dict[str, Any]]:
    for policy in template.of_type("AWS::S3::BucketPolicy").values():
        if template.text(policy["Properties"]["Bucket"]) == f"<{bucket}>":
            return list(template.resolve(policy["Properties"]["PolicyDocument"])["Statement"])
    raise AssertionError(f"no policy on {bucket}")


def denies_plain_http(statements: list[dict[str, Any]]) -> bool:
    return any(
        s["Effect"] == "Deny"
        and s["Action"] == "s3:*"
        and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        and s["Principal"] == {"AWS": "*"}
        for s in statements
    )
