"""The tracker's own test suite (sdk/: node --test, typecheck, build, size budget) as part of pytest."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SDK = ROOT / "sdk"


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_npm_test_passes() -> None:
    npm = shutil.which("npm")
    assert npm, "npm is not installed: the tracker tests need Node 20+ and npm"
    if not (SDK / "node_modules").is_dir():
        subprocess.run(["bash", str(ROOT / "scripts/test-deps.d/30-sdk.sh")], check=True, cwd=ROOT)

    result = subprocess.run(
        [npm, "test", "--prefix", str(SDK)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )

    output = f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
    assert result.returncode == 0, f"`npm test --prefix sdk` failed ({result.returncode})\n{output}"
    assert "size check failed" not in result.stdout, output
    if os.environ.get("CI"):
        # dist/ is committed (the storefront works without Node): it must be the build of src/.
        diff = ["git", "diff", "--stat", "--exit-code", "--", "sdk/dist"]
        stale = subprocess.run(diff, cwd=ROOT, capture_output=True, text=True, check=False)
        assert stale.returncode == 0, f"sdk/dist differs from a fresh build of sdk/src:\n{stale.stdout}"
