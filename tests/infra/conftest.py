"""The CDK app synthesized once per test session (the first synth costs ~10 s).

Bundling runs in "source" mode (tests/support/cdk.py): sources are copied,
nothing is pip-installed, so the tests need no network and no Docker.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest

from infra import constants as c
from tests.support.cdk import (
    CDK_CLI,
    DASHBOARD_CERTIFICATE,
    DASHBOARD_DOMAIN,
    CliSynth,
    Synth,
    cli_environment,
    synthesize,
)
from tests.support.template import Template

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


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
