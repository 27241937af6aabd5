"""The CDK app synthesized once per test session (the first synth costs ~10 s).

Bundling runs in "source" mode: sources are copied, nothing is pip-installed,
so the tests need no network and no Docker. A handler that is not written yet
is bundled as a placeholder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infra import constants as c
from tests.infra.template import Template

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

DASHBOARD_DOMAIN = "dashboards.example.com"
DASHBOARD_CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"


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


CDK_CLI = c.INFRA_DIR / "node_modules" / ".bin" / "cdk"


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


@pytest.fixture(scope="session")
def cli_synth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliSynth]:
    """`cdk synth` through cdk.json with the pinned CLI, started in the background.

    It takes as long as the first synth in this process; the session synth
    below starts it first so that the two overlap.
    """
    outdir = tmp_path_factory.mktemp("cdk-cli")
    process = None
    if CDK_CLI.exists():
        process = subprocess.Popen(
            [
                str(CDK_CLI),
                "synth",
                "--quiet",
                "--no-notices",
                "--no-version-reporting",
                "-c",
                f"{c.BUNDLING_CONTEXT}={c.BUNDLING_SOURCE}",
                "-o",
                str(outdir),
            ],
            cwd=c.INFRA_DIR,
            env=cli_environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    yield CliSynth(process, outdir)
    if process is not None and process.poll() is None:
        process.kill()
        process.communicate()


@pytest.fixture(scope="session")
def default_synth(tmp_path_factory: pytest.TempPathFactory, cli_synth: CliSynth) -> Iterator[Synth]:
    yield synthesize(tmp_path_factory.mktemp("cdk-default"))


@pytest.fixture(scope="session")
def public_dashboards_synth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synth]:
    """The variant with the HTTPS load balancer and Cognito sign-in in front of the dashboards."""
    yield synthesize(
        tmp_path_factory.mktemp("cdk-public-dashboards"),
        **{
            c.DASHBOARD_DOMAIN_CONTEXT: DASHBOARD_DOMAIN,
            c.DASHBOARD_CERTIFICATE_CONTEXT: DASHBOARD_CERTIFICATE,
        },
    )


@pytest.fixture(scope="session")
def template(default_synth: Synth) -> Template:
    return default_synth.template


@pytest.fixture(scope="session")
def public_template(public_dashboards_synth: Synth) -> Template:
    return public_dashboards_synth.template
