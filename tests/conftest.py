"""Fixtures shared by every test: a real PostgreSQL, a fresh database per test, the app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from studyhall import domains
from studyhall.app import create_app
from studyhall.bootstrap import DatabaseUrls
from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.jobs import core as jobs
from tests.pg import PgServer, build_template, fresh_database, start_test_server

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"

# Tests that call a service directly see the same event reactions a running server has.
domains.load_reactions()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    server = start_test_server()
    build_template(server)
    yield server


@pytest.fixture
def database_urls(pg_server: PgServer) -> Iterator[DatabaseUrls]:
    name, urls = fresh_database(pg_server)
    yield urls
    pg_server.drop_database(name)


@pytest.fixture
def settings(database_urls: DatabaseUrls, tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        environment="test",
        database_url=database_urls.owner,
        app_database_url=database_urls.app,
        home=tmp_path / "home",
        mail_outbox_dir=tmp_path / "outbox",
        in_process_worker=False,
        log_json=False,
    )


@pytest.fixture
async def db(settings: Settings, database_urls: DatabaseUrls) -> AsyncIterator[Database]:
    """The API role's connection, with the job runtime pointed at it."""
    database = Database.connect(database_urls.app, settings)
    jobs.configure_runtime(jobs.Runtime(settings=settings, database=database))
    jobs.load_tasks()
    await jobs.open_queue(database_urls.app, settings)
    yield database
    await jobs.close_queue()
    await database.dispose()
    jobs.configure_runtime(None)


@pytest.fixture
async def owner_db(settings: Settings, database_urls: DatabaseUrls) -> AsyncIterator[Database]:
    """The owner's connection: for arranging and inspecting state behind the API's back."""
    database = Database.connect(database_urls.owner, settings)
    yield database
    await database.dispose()


@pytest.fixture
async def client(settings: Settings, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, db)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


async def run_jobs() -> None:
    """Run every job that is due, then return."""
    await jobs.run_worker(concurrency=1, wait=False, periodic=False)


@pytest.fixture
def busy_app_connections(pg_server: PgServer, database_urls: DatabaseUrls) -> Callable[[], int]:
    """Counts the app's connections that are in a statement or a transaction right now: a test
    calls it while a remote service is being called, to show no transaction is held open."""
    database = make_url(database_urls.app).database
    assert database is not None
    return lambda: pg_server.busy_app_connections(database)
