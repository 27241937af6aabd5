"""bench/dashboards.py's cached warehouses: which one a new set of migrations is migrated forward from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import dashboards
from clickstream.core import migrate


def cached(data_dir: Path, name: str, checksums: list[str]) -> Path:
    directory = data_dir / f"{dashboards._traffic(2, 100)}{name}"
    directory.mkdir(parents=True)
    (directory / dashboards.MARKER).write_text(json.dumps({"checksums": checksums, "built_by": "loaded"}))
    return directory


def test_a_warehouse_of_the_rewritten_migrations_is_migrated_forward(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dashboards, "DATA_DIR", tmp_path)
    warehouse = dashboards.Warehouse(None, 2, 100, rebuild=False, log=lambda _message: None)
    current = warehouse.checksums
    old_of = {new: old for old, new in migrate.rewritten_checksums().items()}
    assert len(old_of) == 4
    before_rewrite = [old_of.get(checksum, checksum) for checksum in current]
    assert before_rewrite != current

    # Given a warehouse built before the rewrite, one before the last migration, and an unrelated one
    cached(tmp_path, "edited", [*current[:-1], f"{len(current):03d}:{'0' * 64}"])
    assert warehouse._forward_base() is None
    shorter = cached(tmp_path, "shorter", current[:-1])
    assert warehouse._forward_base() == shorter
    # Then the one of the old files (every migration, the rewritten ones as they were) is the base
    old_files = cached(tmp_path, "old-files", before_rewrite)
    assert warehouse._forward_base() == old_files
    # and the current one is never its own base
    cached(tmp_path, warehouse.key.removeprefix(dashboards._traffic(2, 100)), current)
    assert warehouse._forward_base() == old_files
