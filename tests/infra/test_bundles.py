"""What the Lambda layer ships: only what runs on Lambda, with the SQL it reads."""

from __future__ import annotations

import re
from pathlib import Path

from infra import constants as c
from tests.support.cdk import Synth


def _layer_dir(synth: Synth) -> Path:
    layers = [path for path in synth.outdir.glob("asset.*") if (path / "python" / "clickstream").is_dir()]
    assert len(layers) == 1, f"expected one layer asset with python/clickstream, found {layers}"
    return layers[0] / "python"


def test_the_layer_holds_the_lambda_packages_and_sql_only(default_synth: Synth) -> None:
    layer = _layer_dir(default_synth)
    packages = sorted(p.name for p in (layer / "clickstream").iterdir() if p.is_dir())
    assert packages == sorted(c.LAMBDA_PACKAGES)
    for local_only in ("local", "cli", "tools"):
        assert not (layer / "clickstream" / local_only).exists()
    assert (layer / "clickstream" / "pipeline" / "transform.py").is_file()
    # the numbered migrations and every statement clickstream.core.sqlfiles loads
    shipped = {p.relative_to(layer / "sql") for p in (layer / "sql").rglob("*.sql")}
    wanted = {p.relative_to(c.SQL_DIR) for p in c.SQL_DIR.rglob("*.sql")}
    assert shipped == wanted and wanted


LOCAL_ONLY_IMPORT = re.compile(r"^\s*(?:from|import)\s+clickstream\.(local|cli|tools)\b", re.M)


def test_lambda_code_imports_nothing_the_layer_leaves_out() -> None:
    # Every module the layer ships, and every handler, imports only core/, pipeline/ and ops/.
    sources = [p for name in c.LAMBDA_PACKAGES for p in (c.PACKAGE_DIR / name).rglob("*.py")]
    sources += list(c.FUNCTIONS_DIR.rglob("handler.py"))
    for source in sources:
        found = LOCAL_ONLY_IMPORT.findall(source.read_text(encoding="utf-8"))
        assert not found, f"{source} imports clickstream.{found[0]}, which the layer leaves out"
