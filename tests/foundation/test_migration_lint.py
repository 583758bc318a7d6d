"""Every migration's SQL passes squawk, the PostgreSQL migration linter, and runs under lock and
statement timeouts.

Migrations that had shipped before the linter arrived keep the findings they had, listed in
``squawk_shipped.json`` (they have run everywhere; rewriting them would change nothing). The list
is exact both ways: a new finding in an old file fails, and a new migration must have none. The
rules the schema leaves out on purpose are in ``.squawk.toml`` with their reasons.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from studyhall.db.migrate import MIGRATION_TIMEOUTS, revisions, upgrade_sql

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = json.loads((Path(__file__).with_name("squawk_shipped.json")).read_text())


@pytest.fixture(scope="module")
def migration_sql(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("migration-sql")
    files: dict[str, Path] = {}
    previous: str | None = None
    for revision in revisions():
        span = f"{previous}:{revision}" if previous else revision
        files[revision] = folder / f"{revision}.sql"
        files[revision].write_text(upgrade_sql(span))
        previous = revision
    return files


def test_every_migration_runs_under_lock_and_statement_timeouts(
    migration_sql: dict[str, Path],
) -> None:
    for revision, path in migration_sql.items():
        head = path.read_text().split("BEGIN;")[0]
        for statement in MIGRATION_TIMEOUTS:
            assert statement in head, f"{revision} does not start with {statement}"


def test_squawk_finds_nothing_new(migration_sql: dict[str, Path]) -> None:
    squawk = Path(sys.executable).with_name("squawk")
    result = subprocess.run(
        [str(squawk), "-c", str(ROOT / ".squawk.toml"), "--reporter", "json"]
        + [path.name for path in migration_sql.values()],
        cwd=next(iter(migration_sql.values())).parent,
        capture_output=True,
        text=True,
        check=False,
    )
    findings: defaultdict[str, list[str]] = defaultdict(list)
    for finding in json.loads(result.stdout or "[]"):
        findings[finding["file"].removesuffix(".sql")].append(finding["rule_name"])
    found = {revision: sorted(rules) for revision, rules in findings.items()}
    assert found == SHIPPED, "squawk findings changed: fix the migration, see docs/operations.md"
