"""The files of sql/ that the migrators read besides the migrations: backfills/ and migrate/rewritten.txt."""

from __future__ import annotations

import hashlib
import re
import tarfile
from pathlib import Path

import pytest

from clickstream.core import migrate
from tests.support.migrations import OLD_FILES, REWRITTEN

_DEFINES = re.compile(r"^create (?:or replace )?function (\w+)", re.IGNORECASE | re.MULTILINE)


def test_rewritten_lists_the_old_files_and_the_ones_on_disk() -> None:
    on_disk = {m.version: m.checksum for m in migrate.discover()}
    with tarfile.open(OLD_FILES) as archive:
        old = {
            int(Path(member.name).name[:3]): hashlib.sha256(archive.extractfile(member).read()).hexdigest()  # type: ignore[union-attr]
            for member in archive.getmembers()
            if member.isfile()
        }
    rewrites = migrate.rewrites()
    assert [r.version for r in rewrites] == list(REWRITTEN)
    for rewrite in rewrites:
        assert rewrite.new == on_disk[rewrite.version]  # every line names the file as it is
        assert rewrite.old == old[rewrite.version]  # and as databases applied it
        assert rewrite.reason
    assert migrate.rewritten_checksums() == {
        f"{r.version:03d}:{r.old}": f"{r.version:03d}:{r.new}" for r in rewrites
    }


def test_each_backfill_belongs_to_a_migration() -> None:
    migrations = {m.path.name for m in migrate.discover()}
    backfills = migrate.backfills()
    assert [b.version for b in backfills] == list(REWRITTEN)
    assert {b.path.name for b in backfills} <= migrations


def test_no_migration_defines_a_function_of_sql_functions() -> None:
    # numbered migrations hold DDL: each function is defined once, in sql/functions/
    repeatable = {name for path in migrate.repeatable() for name in _DEFINES.findall(path.read_text())}
    assert {"rebuild_dashboard_rollups", "rebuild_product_lists", "rebuild_analyses"} <= repeatable
    defined = {m.path.name: set(_DEFINES.findall(m.text)) & repeatable for m in migrate.discover()}
    assert {name: functions for name, functions in defined.items() if functions} == {}


def test_a_backfill_without_its_migration_is_refused(tmp_path: Path) -> None:
    (tmp_path / "001_first.sql").write_text("create table first (id integer);\n")
    (tmp_path / migrate.BACKFILLS_DIR).mkdir()
    (tmp_path / migrate.BACKFILLS_DIR / "001_first.sql").write_text("insert into first values (1);\n")
    assert [b.label for b in migrate.backfills(tmp_path)] == ["001_first"]
    (tmp_path / migrate.BACKFILLS_DIR / "002_second.sql").write_text("select 2;\n")
    with pytest.raises(migrate.MigrationError, match="named as the migration it belongs to"):
        migrate.backfills(tmp_path)


def test_check_accepts_a_listed_rewrite_only(tmp_path: Path) -> None:
    (tmp_path / "001_first.sql").write_text("select 1;\n")
    [first] = migrate.discover(tmp_path)
    old = hashlib.sha256(b"select 0;\n").hexdigest()
    rewrite = migrate.Rewrite(1, old, first.checksum, "comment removed")
    assert migrate.check([first], {1: ("first", old)}, [rewrite]) == []
    assert migrate.accepted_rewrites([first], {1: ("first", old)}, [rewrite]) == [first]
    assert migrate.accepted_rewrites([first], {1: ("first", first.checksum)}, [rewrite]) == []
    with pytest.raises(migrate.MigrationError, match="changed after it was applied"):
        migrate.check([first], {1: ("first", "1" * 64)}, [rewrite])
    with pytest.raises(migrate.MigrationError, match="changed after it was applied"):
        migrate.check([first], {1: ("first", old)}, [])


def test_a_malformed_rewritten_line_is_refused(tmp_path: Path) -> None:
    listed = tmp_path / migrate.REWRITTEN_FILE
    listed.parent.mkdir()
    listed.write_text(f"# a comment\n\n001 {'a' * 64} {'b' * 64} a reason\n")
    assert migrate.rewrites(tmp_path) == [migrate.Rewrite(1, "a" * 64, "b" * 64, "a reason")]
    listed.write_text(f"001 {'a' * 64} {'b' * 63}\n")
    with pytest.raises(migrate.MigrationError, match="line 1: expected NNN old_sha256 new_sha256 reason"):
        migrate.rewrites(tmp_path)
