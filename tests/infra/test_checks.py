"""Offline checks: cdk-nag AwsSolutions, cfn-lint, asl-validator, and `cdk synth` through cdk.json."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from aws_cdk import Validations

from clickstream.ops.definition import render
from infra import constants as c
from tests.support.cdk import CliSynth, Synth, app_context, cfn_lint_findings, cli_environment, nag_findings

NODE_BIN = c.INFRA_DIR / "node_modules" / ".bin"


def node_tool(name: str) -> Path:
    tool = NODE_BIN / name
    if not tool.exists():
        pytest.fail(f"{tool} is missing: run scripts/test-deps.d/20-infra.sh (npm ci --prefix infra)")
    return tool


# -- cdk-nag ---------------------------------------------------------------------------------
def test_aws_solutions_checks_have_no_unacknowledged_findings(default_synth: Synth) -> None:
    assert nag_findings(default_synth) == []


def test_aws_solutions_checks_pass_with_public_dashboards_too(public_dashboards_synth: Synth) -> None:
    assert nag_findings(public_dashboards_synth) == []


def acknowledgments(synth: Synth) -> list[tuple[str, str, str]]:
    key = Validations.ACKNOWLEDGED_RULES_METADATA_KEY
    return [
        (node.node.path, rule, reason)
        for node in synth.app.node.find_all()
        for entry in node.node.metadata
        if entry.type == key
        for rule, reason in entry.data.items()
    ]


def test_every_acknowledgment_is_specific_and_has_a_reason(public_dashboards_synth: Synth) -> None:
    ours = [
        (path, rule, reason)
        for path, rule, reason in acknowledgments(public_dashboards_synth)
        if "AwsSolutions" in rule or rule.endswith("E1152")
    ]
    assert ours
    for path, rule, reason in ours:
        assert len(reason) >= 40, f"{rule} on {path}: say why"
        # on the resource concerned, never on the whole stack
        assert path.count("/") >= 2, f"{rule} is acknowledged on {path}, not on a resource"


def test_synth_with_the_nag_plugin_succeeds(tmp_path: Path) -> None:
    """The app as `make synth` runs it: AwsSolutions as a validation plugin fails synthesis on a finding."""
    from infra.app import build_app

    build_app(app_context(), nag=True, outdir=str(tmp_path)).synth()
    assert (tmp_path / f"{c.STACK_ID}.template.json").exists()


# -- cfn-lint ----------------------------------------------------------------------------------
@pytest.mark.parametrize("variant", ["default_synth", "public_dashboards_synth"])
def test_cfn_lint_passes(request: pytest.FixtureRequest, variant: str) -> None:
    synth: Synth = request.getfixturevalue(variant)
    assert cfn_lint_findings(synth) == []


# -- asl-validator -------------------------------------------------------------------------------
@pytest.mark.parametrize("with_arns", [False, True], ids=["as-deployed", "arns-filled"])
def test_asl_validator_accepts_the_definition(tmp_path: Path, with_arns: bool) -> None:
    # The file itself has "${MapMaxConcurrency}" where a number goes; render() fills it,
    # and leaves (or, for the second case, fills) the ARN placeholders.
    arns = None
    if with_arns:
        arns = {
            f"{name}FunctionArn": f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
            for name in ("ListNew", "Transform", "Load", "Notify")
        }
        arns["AlertTopicArn"] = "arn:aws:sns:us-east-1:123456789012:alerts"
    definition = tmp_path / "pipeline.asl.json"
    definition.write_text(render(c.NUMBERS, arns))
    result = subprocess.run(
        ["npx", "--no-install", "asl-validator", "--json-path", str(definition)],
        cwd=c.INFRA_DIR,
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": f"{NODE_BIN}{os.pathsep}{os.environ['PATH']}"},
        check=False,
    )
    node_tool("asl-validator")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is valid" in result.stdout


# -- the CDK CLI through cdk.json ------------------------------------------------------------------
def test_pinned_cdk_cli_synthesizes_offline(cli_synth: CliSynth) -> None:
    """`cdk synth` as `make synth` runs it (with source bundling, so no pip runs here), no credentials."""
    cdk = node_tool("cdk")
    version = subprocess.run([str(cdk), "--version"], capture_output=True, text=True, env=cli_environment())
    assert version.stdout.startswith("2.1148.1"), version.stdout + version.stderr
    assert cli_synth.process is not None
    stdout, stderr = cli_synth.process.communicate(timeout=300)
    assert cli_synth.process.returncode == 0, stdout + stderr
    template = json.loads((cli_synth.outdir / f"{c.STACK_ID}.template.json").read_text())
    assert "PipelineStateMachine" in "".join(template["Resources"])
