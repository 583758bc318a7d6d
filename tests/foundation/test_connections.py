"""Every pool of a process together stays within ``Settings.connections_per_process``: several
real processes each take every connection their pools will give, and ``pg_stat_activity``
counts them."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import psycopg

from studyhall.bootstrap import DatabaseUrls
from studyhall.config import Settings
from tests.foundation.test_cli import _env
from tests.pg import APP_ROLE, PgServer

PROCESSES = 3
HOLDER = Path(__file__).with_name("connection_holder.py")
SMALL_POOLS = {
    "STUDYHALL_DB_POOL_SIZE": "2",
    "STUDYHALL_DB_MAX_OVERFLOW": "1",
    "STUDYHALL_DB_QUOTA_POOL_SIZE": "1",
    "STUDYHALL_DB_JOB_POOL_SIZE": "3",
    "STUDYHALL_DB_STATEMENT_TIMEOUT_S": "7",
    "STUDYHALL_DB_IDLE_IN_TRANSACTION_TIMEOUT_S": "120",
}


@contextmanager
def _holder(urls: DatabaseUrls, home: Path) -> Iterator[dict[str, Any]]:
    env = _env(
        DATABASE_URL=urls.owner,
        STUDYHALL_APP_DATABASE_URL=urls.app,
        STUDYHALL_ENVIRONMENT="test",
        STUDYHALL_HOME=str(home),
        STUDYHALL_IN_PROCESS_WORKER="true",
        **SMALL_POOLS,
    )
    process = subprocess.Popen(
        [sys.executable, str(HOLDER)],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise AssertionError(process.stderr.read() if process.stderr else "no output")
        yield json.loads(line)
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _by_name(pg_server: PgServer, database: str) -> dict[str, int]:
    with psycopg.connect(pg_server.url(database), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT application_name, count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND usename = %s GROUP BY 1",
            (APP_ROLE,),
        ).fetchall()
    return {str(name): int(n) for name, n in rows}


def _settle(pg_server: PgServer, database: str, expected: int) -> dict[str, int]:
    """The count once every process's connections are open (a worker LISTENs a moment after
    it starts), and a moment longer, so one more connection would show."""
    deadline = time.monotonic() + 30
    while sum((found := _by_name(pg_server, database)).values()) < expected:
        if time.monotonic() > deadline:
            return found
        time.sleep(0.2)
    time.sleep(1)
    return _by_name(pg_server, database)


def test_saturated_processes_stay_within_the_documented_bound(
    database_urls: DatabaseUrls, pg_server: PgServer, tmp_path: Path
) -> None:
    small = Settings(
        _env_file=None, **{k.removeprefix("STUDYHALL_").lower(): v for k, v in SMALL_POOLS.items()}
    )  # type: ignore[arg-type]
    per_process = small.connections_per_process
    assert per_process == 2 + 1 + 1 + 3 + 1
    database = psycopg.conninfo.conninfo_to_dict(database_urls.app)["dbname"]
    with ExitStack() as stack:
        reports = [
            stack.enter_context(_holder(database_urls, tmp_path / f"home{i}"))
            for i in range(PROCESSES)
        ]
        by_name = _settle(pg_server, str(database), PROCESSES * per_process)
    for report in reports:
        assert report["main"] == report["quota"] == ["7s", "2min"]
        assert report["jobs"] == ["7s"]
    assert by_name == {
        "studyhall": PROCESSES * 3,
        "studyhall-quota": PROCESSES * 1,
        # The job pool (2) and the worker's LISTEN beside it.
        "studyhall-jobs": PROCESSES * 3,
        "studyhall-listen": PROCESSES * 1,
    }
    assert sum(by_name.values()) == PROCESSES * per_process


def test_the_default_budget_fits_a_default_server() -> None:
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    assert defaults.connections_per_process == 5 + 5 + 2 + 3 + 1
    # PostgreSQL's default max_connections is 100, of which 3 are reserved for superusers.
    assert (100 - 3) // defaults.connections_per_process == 6
