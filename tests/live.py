"""The app behind a real uvicorn server on a loopback socket, the way clients meet it.

The server runs on a thread and event loop of its own, with a connection pool of its own, so a
test's client and the server interleave as separate programs would: what the server does after
a response's bytes leave (the in-process ASGI transport waits for all of it) is visible.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn
from fastapi import APIRouter
from sqlalchemy import text

from studyhall.app import create_app
from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.jobs import core as jobs


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def live_server(
    settings: Settings, app_database_url: str, routes: APIRouter | None = None
) -> Iterator[str]:
    """Yields the base URL of ``create_app(settings)`` served over TCP until the block ends;
    ``routes`` (a test's probes) are served under the API prefix beside the app's own."""
    port = free_port()
    config = uvicorn.Config(
        "studyhall.app:create_app",  # replaced below; Config needs an app to be built
        host="127.0.0.1",
        port=port,
        lifespan="off",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    failures: list[BaseException] = []

    async def serve() -> None:
        # The server runs without its lifespan: it still knows every task a request may defer.
        jobs.load_tasks()
        database = Database.connect(app_database_url, settings)
        app = create_app(settings, database)
        if routes is not None:
            app.include_router(routes, prefix="/api/v1")
        config.app = app
        try:
            await server.serve()
        finally:
            await database.dispose()

    def run() -> None:
        try:
            asyncio.run(serve())
        except BaseException as exc:
            failures.append(exc)

    thread = threading.Thread(target=run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:  # uvicorn offers no event to wait on
        if failures or not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the server did not start: {failures!r}")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


async def slow_commits(owner_db: Database, tables: list[str], seconds: float = 0.01) -> None:
    """Make every commit that wrote to ``tables`` take ``seconds`` longer (a deferred trigger
    sleeps at COMMIT), as synchronous replication or a busy disk would. A server that answers
    before its commit finishes then loses the race to the client's next request every time,
    instead of now and then."""
    async with owner_db.transaction() as session:
        await session.execute(
            text(
                f"""
                CREATE OR REPLACE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN PERFORM pg_sleep({seconds:.3f}); RETURN NULL; END $$
                """
            )
        )
        for table in tables:
            await session.execute(
                text(
                    f"""
                    CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT OR UPDATE ON {table}
                    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow_commit()
                    """
                )
            )


async def sse_events(response: httpx.Response) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """The (event, JSON data) pairs of a server-sent event stream, as they arrive."""
    event, data = "message", ""
    async for line in response.aiter_lines():
        if line.startswith("event:"):
            event = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            data += line.split(":", 1)[1].strip()
        elif line == "" and data:
            yield event, json.loads(data)
            event, data = "message", ""
