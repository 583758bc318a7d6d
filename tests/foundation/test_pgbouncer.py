"""Studyhall behind a real PgBouncer in transaction mode: a real ``studyhall serve`` whose API
connections go through PgBouncer (prepared statements off, server settings per transaction) and
whose LISTEN connections (job queue, live inbox) go straight to PostgreSQL."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
import pytest
import sqlalchemy.exc
from sqlalchemy import text
from sqlalchemy.engine import make_url

from studyhall.bootstrap import DatabaseUrls
from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.notifications.service import sending
from tests.foundation.pgbouncer import Bouncer, pgbouncer
from tests.foundation.smtp import free_port
from tests.foundation.test_cli import _env, _wait_ready
from tests.live import sse_events
from tests.pg import APP_ROLE, PgServer

SERVER_CONNECTIONS = 3  # PgBouncer's pool: fewer than the requests running at once
USERS = 6
THREADS_EACH = 3
PASSWORD = "correct horse battery staple"


@pytest.fixture
def bouncer(database_urls: DatabaseUrls) -> Iterator[Bouncer]:
    with pgbouncer(database_urls.app, [APP_ROLE], pool_size=SERVER_CONNECTIONS) as b:
        yield b


def _database(urls: DatabaseUrls) -> str:
    return str(make_url(urls.app).database)


@contextmanager
def _serve_behind(
    bouncer: Bouncer, urls: DatabaseUrls, tmp_path: Path, port: int
) -> Iterator[subprocess.Popen[str]]:
    env = _env(
        DATABASE_URL=urls.owner,  # migrations: the owner, never through the pooler
        STUDYHALL_APP_DATABASE_URL=bouncer.url(APP_ROLE, _database(urls)),
        STUDYHALL_APP_DATABASE_DIRECT_URL=urls.app,
        STUDYHALL_DATABASE_PGBOUNCER="true",
        STUDYHALL_ENVIRONMENT="test",
        STUDYHALL_HOME=str(tmp_path / "home"),
        STUDYHALL_MAIL_OUTBOX_DIR=str(tmp_path / "outbox"),
        STUDYHALL_DB_POOL_SIZE="6",
        STUDYHALL_DB_MAX_OVERFLOW="2",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "studyhall.cli", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


async def _journey(http: httpx.AsyncClient, n: int) -> tuple[str, dict[str, str], list[str]]:
    """Sign up, sign in, write a few of one's own rows and read them back, repeatedly (psycopg
    would prepare a statement run five times; behind the pooler that must not happen)."""
    email = f"bouncer{n}-{uuid.uuid4().hex[:6]}@example.org"
    signed_up = await http.post(
        "/api/v1/auth/sign-up", json={"email": email, "password": PASSWORD, "name": f"B {n}"}
    )
    assert signed_up.status_code == 201, signed_up.text
    signed_in = await http.post("/api/v1/auth/sign-in", json={"email": email, "password": PASSWORD})
    assert signed_in.status_code == 200, signed_in.text
    auth = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    me = await http.get("/api/v1/me", headers=auth)
    assert me.status_code == 200, me.text
    threads = []
    for i in range(THREADS_EACH):
        created = await http.post(
            "/api/v1/chat/threads", json={"title": f"user {n} thread {i}"}, headers=auth
        )
        assert created.status_code == 201, created.text
        threads.append(created.json()["id"])
    for _ in range(6):
        listed = await http.get("/api/v1/chat/threads", headers=auth)
        assert listed.status_code == 200, listed.text
        assert sorted(t["id"] for t in listed.json()["items"]) == sorted(threads)
    return me.json()["id"], auth, threads


def _backends(pg_server: PgServer, database: str) -> dict[str, int]:
    """The app role's server connections by name, seen by the superuser."""
    with psycopg.connect(pg_server.url(database), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT coalesce(application_name, ''), count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND usename = %s GROUP BY 1",
            (APP_ROLE,),
        ).fetchall()
    return {str(name): int(n) for name, n in rows}


async def test_the_api_works_through_pgbouncer_in_transaction_mode(
    bouncer: Bouncer,
    database_urls: DatabaseUrls,
    settings: Settings,
    pg_server: PgServer,
    tmp_path: Path,
) -> None:
    port = free_port()
    with _serve_behind(bouncer, database_urls, tmp_path, port) as process:
        ready = await asyncio.to_thread(_wait_ready, port)
        assert ready.status_code == 200, (ready.text, process.poll())
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            journeys = await asyncio.gather(*(_journey(http, n) for n in range(USERS)))

            # Row level security per transaction: nobody reads another's thread.
            (_, ana_auth, _), (_, _, ben_threads) = journeys[0], journeys[1]
            other = await http.get(
                f"/api/v1/chat/threads/{ben_threads[0]}/messages", headers=ana_auth
            )
            assert other.status_code == 404, other.text

            # The live inbox LISTENs on a direct connection: a notification committed by
            # another connection reaches the open stream.
            ana_id = uuid.UUID(journeys[0][0])
            async with http.stream(
                "GET", "/api/v1/notifications/stream", headers=ana_auth
            ) as response:
                assert response.status_code == 200
                events = sse_events(response)
                assert (await asyncio.wait_for(anext(events), 10))[0] == "ready"
                writer = Database.connect(database_urls.app, settings)
                try:
                    async with writer.transaction(ana_id) as session:
                        [pushed] = await sending.notify(
                            session, ana_id, "ai_artifact_ready", {"title": "Through"}
                        )
                finally:
                    await writer.dispose()
                event, data = await asyncio.wait_for(anext(events), 10)
                assert (event, data["id"]) == ("notification", str(pushed))
                backends = _backends(pg_server, _database(database_urls))
    assert process.returncode is not None
    assert "prepared statement" not in bouncer.log()
    # The queue and the live inbox hold sessions of their own, straight to PostgreSQL; every
    # other connection of the process came through PgBouncer's few server connections.
    assert backends.get("studyhall-listen") == 1
    assert 1 <= backends.get("studyhall-jobs", 0) <= settings.db_job_pool_size
    pooled = sum(
        n for name, n in backends.items() if name not in {"studyhall-listen", "studyhall-jobs"}
    )
    assert 1 <= pooled <= SERVER_CONNECTIONS


async def test_timeouts_hold_per_transaction_behind_pgbouncer(
    bouncer: Bouncer, database_urls: DatabaseUrls, settings: Settings
) -> None:
    behind = settings.model_copy(
        update={
            "database_pgbouncer": True,
            "app_database_direct_url": database_urls.app,
            "db_statement_timeout_s": 1,
            "db_idle_in_transaction_timeout_s": 3,
        }
    )
    database = Database.connect(bouncer.url(APP_ROLE, _database(database_urls)), behind)
    try:
        for _ in range(SERVER_CONNECTIONS * 3):  # whichever server connection a transaction gets
            async with database.transaction() as session:
                row = (
                    await session.execute(
                        text(
                            "SELECT current_setting('statement_timeout') AS s, "
                            "current_setting('idle_in_transaction_session_timeout') AS i, "
                            "current_setting('TimeZone') AS z"
                        )
                    )
                ).one()
                assert (row.s, row.i, row.z) == ("1s", "3s", "UTC")
        with pytest.raises(sqlalchemy.exc.OperationalError, match="statement timeout"):
            async with database.transaction() as session:
                await session.execute(text("SELECT pg_sleep(3)"))
    finally:
        await database.dispose()


def test_pgbouncer_mode_needs_a_direct_url_for_listen() -> None:
    with pytest.raises(ValueError, match="STUDYHALL_APP_DATABASE_DIRECT_URL"):
        Settings(_env_file=None, database_pgbouncer=True)  # type: ignore[call-arg]
