"""SQL lives in .sql files: no long statement in a Python string, and the loader fills slots safely."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from psycopg import sql

from clickstream.core import sqlfiles

ROOT = Path(__file__).resolve().parents[2]
# The folders whose Python may hold no SQL statement over MAX_SQL_LINES lines (the dashboards'
# statements are files of shiny/sql/).
CHECKED_FOLDERS = ("clickstream", "functions", "bench", "shiny")
MAX_SQL_LINES = 5

# A line that opens an SQL clause (not Python's "from x import y" or "with x as y:").
_CLAUSE = re.compile(
    r"^\s*(?:(?:select|from(?!\s+\S+\s+import\b)|where|group by|order by|having|insert into|values|"
    r"on conflict|update|set|delete from|returning|union|(?:inner |left |right |full )?join|window)\b"
    r"|with\s+(?:recursive\s+)?\S+\s+as\s*\(|with\s*$)",
    re.IGNORECASE | re.MULTILINE,
)
# A statement that may have a single clause (create table ..., alter table ...).
_STATEMENT = re.compile(r"^\s*(create|alter|drop|truncate|copy|insert|update|delete)\s+\w", re.IGNORECASE)


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the string nodes that are docstrings (of the module, a class or a function)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _text(node: ast.AST) -> str | None:
    """A string literal's text; an f-string's with each replacement field as ``{}``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
    return None


def long_sql_strings(source: str) -> list[tuple[int, int]]:
    """(line, lines of SQL) of every string in ``source`` that holds an SQL statement over the limit."""
    tree = ast.parse(source)
    skipped = _docstrings(tree) | {
        id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for part in node.values
    }  # an f-string's parts are read with it
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        text = _text(node)
        if text is None:
            continue
        lines = [line for line in text.splitlines() if line.strip() and not line.strip().startswith("--")]
        is_sql = len(_CLAUSE.findall(text)) >= 2 or bool(lines and _STATEMENT.match(lines[0]))
        if len(lines) > MAX_SQL_LINES and is_sql:
            found.append((getattr(node, "lineno", 0), len(lines)))
    return found


def python_files() -> list[Path]:
    return sorted(p for folder in CHECKED_FOLDERS for p in (ROOT / folder).rglob("*.py"))


def test_no_python_string_holds_a_long_sql_statement() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line} ({count} lines)"
        for path in python_files()
        for line, count in long_sql_strings(path.read_text(encoding="utf-8"))
    ]
    assert offenders == [], "move these statements to sql/ (clickstream/core/sqlfiles.py loads them)"


def test_the_check_finds_sql_and_passes_prose_and_docstrings() -> None:
    statement = "\n".join(["select", "    a,", "    b", "from t", "where a > 1", "group by a, b"])
    prose = "\n".join(f"line {n} of a help text, with select words from a where clause" for n in range(9))
    source = f'''
"""Module docstring.

{statement}
"""

QUERY = """
{statement}
"""
SHORT = """select a
from t
where b
"""
HELP = """
{prose}
"""


def f(table):
    """A function's docstring.

    {statement}
    """
    return f"""
    {statement.replace("from t", "from {{table}}")}
    """
'''
    lines = source.splitlines()
    expected = [lines.index('QUERY = """') + 1, lines.index('    return f"""') + 1]  # not SHORT, HELP
    assert [line for line, _ in long_sql_strings(source)] == expected


def test_a_string_fills_an_identifier_slot_and_composables_are_used_as_they_are(tmp_path: Path) -> None:
    (tmp_path / "q.sql").write_text(
        "-- grain: one row per thing\nselect {column}, {value} from {table} where x = %(x)s and y = '{{}}'\n"
    )
    query = sqlfiles.query(
        "q.sql", tmp_path, column="a b", table="t", value=sql.Literal("30 minutes")
    ).as_string(None)
    assert query == (
        "-- grain: one row per thing\nselect \"a b\", '30 minutes' from \"t\" where x = %(x)s and y = '{}'\n"
    )
    with pytest.raises(KeyError):
        sqlfiles.query("q.sql", tmp_path, column="a")
    with pytest.raises(FileNotFoundError, match=r"no SQL file missing\.sql"):
        sqlfiles.text("missing.sql", tmp_path)


# sqlfiles.query("name", ...), sqlfiles.plain("name") and sqlfiles.text("name") in the code.
_LOADED = re.compile(r"""sqlfiles\.(?:query|plain|text)\(\s*["']([^"']+\.sql)["']""")
TEST_SQL = ROOT / "tests" / "sql"  # the tests' own statements (tests load them with this root)
SHINY_SQL = ROOT / "shiny" / "sql"  # the dashboards' statements (shiny/ loads them with this root)


def test_every_loaded_file_exists_and_every_file_is_loaded() -> None:
    roots = {"sql": sqlfiles.SQL_ROOT, "tests": TEST_SQL, "shiny": SHINY_SQL}
    loaded: dict[str, set[str]] = {name: set() for name in roots}
    for folder in (*CHECKED_FOLDERS, "tests"):
        for path in (ROOT / folder).rglob("*.py"):
            if path != Path(__file__):  # this file's examples
                names = _LOADED.findall(path.read_text(encoding="utf-8"))
                loaded[folder if folder in ("tests", "shiny") else "sql"].update(names)
    missing = sorted(
        f"{root}/{name}"
        for root, names in loaded.items()
        for name in names
        if not (roots[root] / name).is_file() and not (root == "tests" and (roots["sql"] / name).is_file())
    )
    assert missing == []
    # numbered migrations, the repeatable functions and the backfills are applied by
    # clickstream/core/migrate.py
    on_disk = {
        (root, str(p.relative_to(path)))
        for root, path in roots.items()
        if root != "shiny"  # shiny/queries.py names its files through a helper of its own
        for p in path.rglob("*.sql")
        if root == "tests" or (p.parent != path and p.parent.name not in ("functions", "backfills"))
    }
    every_loaded = loaded["sql"] | loaded["tests"]
    assert sorted(f"{root}/{name}" for root, name in on_disk if name not in every_loaded) == []
