"""The CDK app. `make synth` (or `cd infra && npx cdk synth|deploy`) runs it through cdk.json.

Synthesis is offline: no lookups, no credentials. The stack is
account-agnostic; its region comes from ``-c region=...``, else
$CDK_DEFAULT_REGION, else us-east-1. AwsSolutions checks (cdk-nag) run as a
validation plugin: an unacknowledged finding fails the synth.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

# Run as a script from infra/ (cdk.json): import `infra` and `clickstream` from the repo root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aws_cdk import App, Environment, Validations
from cdk_nag import AwsSolutionsChecks

from infra import constants as c
from infra.stack import ClickstreamStack


def build_app(context: dict[str, Any] | None = None, *, nag: bool = True, outdir: str | None = None) -> App:
    app = App(context=context or {}, outdir=outdir)
    region = (
        app.node.try_get_context(c.REGION_CONTEXT) or os.environ.get("CDK_DEFAULT_REGION") or c.DEFAULT_REGION
    )
    ClickstreamStack(
        app,
        c.STACK_ID,
        env=Environment(region=region),
        description=(
            "Hourly clickstream analytics: lake, Step Functions pipeline, PostgreSQL warehouse, dashboards"
        ),
    )
    if nag:
        Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app


if __name__ == "__main__":
    build_app().synth()
