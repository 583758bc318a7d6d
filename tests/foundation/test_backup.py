"""Backups are private files, and a restore gives back every table exactly (a restore drill)."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import text

from studyhall.bootstrap import DatabaseUrls
from studyhall.db import backup
from studyhall.db.engine import Database, libpq_url
from tests.accounts.conftest import sign_up
from tests.foundation.test_cli import _env as cli_env
from tests.foundation.test_cli import _studyhall

_TABLES_SQL = """
    SELECT format('%I.%I', schemaname, tablename) FROM pg_tables
    WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1
"""


def _fingerprint(owner_url: str) -> dict[str, tuple[int, str]]:
    """Row count and a checksum of the rows' contents, for every table of the database."""
    result = {}
    with psycopg.connect(libpq_url(owner_url)) as conn:
        tables = [row[0] for row in conn.execute(_TABLES_SQL)]
        for table in tables:
            row = conn.execute(
                f"SELECT count(*), coalesce(md5(string_agg(md5(t::text), '' "
                f"ORDER BY md5(t::text))), '') FROM {table} t"
            ).fetchone()
            assert row is not None
            result[table] = (int(row[0]), str(row[1]))
    return result


async def test_restore_drill_gives_back_every_table(
    client: httpx.AsyncClient, owner_db: Database, database_urls: DatabaseUrls, tmp_path: Path
) -> None:
    for _ in range(3):
        await sign_up(client)
    before = _fingerprint(database_urls.owner)
    assert len(before) > 40
    assert before["public.users"][0] == 3

    dump = backup.backup(database_urls.owner, tmp_path / "backups", keep=2)
    assert stat.S_IMODE(dump.stat().st_mode) == 0o600
    assert stat.S_IMODE(dump.parent.stat().st_mode) == 0o700

    async with owner_db.transaction() as session:
        await session.execute(text("UPDATE users SET name = 'changed'"))
        await session.execute(text("DELETE FROM procrastinate_jobs"))
        await session.execute(text("DELETE FROM audit_log"))
    damaged = _fingerprint(database_urls.owner)
    assert damaged != before  # the fingerprint sees a change

    backup.restore(database_urls.owner, dump)
    assert _fingerprint(database_urls.owner) == before


def test_a_dump_is_private_even_over_an_older_readable_file(
    database_urls: DatabaseUrls, tmp_path: Path
) -> None:
    directory = tmp_path / "backups"
    directory.mkdir(mode=0o755)
    dump = backup.backup(database_urls.owner, directory, keep=1)
    assert stat.S_IMODE(dump.stat().st_mode) == 0o600
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700


def _env(urls: DatabaseUrls, home: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": urls.owner,
        "STUDYHALL_APP_DATABASE_URL": urls.app,
        "STUDYHALL_HOME": str(home),
    }


def _users(urls: DatabaseUrls) -> list[Any]:
    with psycopg.connect(libpq_url(urls.owner)) as conn:
        return [row[0] for row in conn.execute("SELECT email FROM users ORDER BY email")]


def test_restore_asks_and_refuses_while_a_server_is_connected(
    database_urls: DatabaseUrls, tmp_path: Path
) -> None:
    env = _env(database_urls, tmp_path / "home")
    with psycopg.connect(libpq_url(database_urls.owner), autocommit=True) as conn:
        conn.execute("INSERT INTO users (email, name, password_hash) VALUES ('a@x.org', 'A', 'h')")
    dump = backup.backup(database_urls.owner, tmp_path / "backups", keep=1)
    with psycopg.connect(libpq_url(database_urls.owner), autocommit=True) as conn:
        conn.execute("INSERT INTO users (email, name, password_hash) VALUES ('b@x.org', 'B', 'h')")

    server = psycopg.connect(libpq_url(database_urls.app), application_name="studyhall")
    try:
        refused = _studyhall("db", "restore", "--yes", str(dump), cwd=tmp_path, **env)
        assert refused.returncode == 1
        assert "other connection(s) are open (studyhall)" in refused.stderr
        assert "--force" in refused.stderr
        assert _users(database_urls) == ["a@x.org", "b@x.org"]
    finally:
        server.close()

    declined = _restore_answering("n\n", dump, tmp_path, env)
    assert declined.returncode == 1
    assert "Replace every table of database" in declined.stdout
    assert "restore cancelled" in declined.stderr
    assert _users(database_urls) == ["a@x.org", "b@x.org"]

    confirmed = _restore_answering("y\n", dump, tmp_path, env)
    assert confirmed.returncode == 0, confirmed.stderr
    assert _users(database_urls) == ["a@x.org"]


def test_force_restores_while_a_server_is_connected(
    database_urls: DatabaseUrls, tmp_path: Path
) -> None:
    env = _env(database_urls, tmp_path / "home")
    dump = backup.backup(database_urls.owner, tmp_path / "backups", keep=1)
    with psycopg.connect(libpq_url(database_urls.owner), autocommit=True) as conn:
        conn.execute("INSERT INTO users (email, name, password_hash) VALUES ('c@x.org', 'C', 'h')")
    with psycopg.connect(libpq_url(database_urls.app), application_name="studyhall"):
        forced = _studyhall("db", "restore", "--yes", "--force", str(dump), cwd=tmp_path, **env)
    assert forced.returncode == 0, forced.stderr
    assert _users(database_urls) == []


def _restore_answering(
    answer: str, dump: Path, cwd: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """``studyhall db restore`` with ``answer`` typed at its confirmation prompt."""
    return subprocess.run(
        [sys.executable, "-m", "studyhall.cli", "db", "restore", str(dump)],
        cwd=cwd,
        env=cli_env(**env),
        input=answer,
        capture_output=True,
        text=True,
        timeout=60,
    )
