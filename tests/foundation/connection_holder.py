"""One API process, started for real, that takes every connection each of its pools will give.

Run by ``test_connections.py`` as a separate process (``python connection_holder.py``) with the
settings in its environment. It starts the application's lifespan (main pool, job queue and the
in-process worker with its LISTEN), opens the quota pool and the live inbox's LISTEN, holds as
many connections as every pool allows, prints one JSON line (``saturated`` with the timeouts its
connections run with) and keeps them until its standard input closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import uuid
from typing import Any

from sqlalchemy import text

from studyhall.app import create_app
from studyhall.config import get_settings
from studyhall.db.engine import libpq_conninfo, listen_url
from studyhall.jobs import core as jobs
from studyhall.notifications.service.stream import Hub
from studyhall.study.service.quota import side_database

_TIMEOUTS = text(
    "SELECT current_setting('statement_timeout') AS s, "
    "current_setting('idle_in_transaction_session_timeout') AS i"
)


async def _timeouts(connection: Any) -> list[str]:
    row = (await connection.execute(_TIMEOUTS)).one()
    return [row.s, row.i]


async def main() -> None:
    settings = get_settings()
    app = create_app(settings)
    async with app.router.lifespan_context(app), contextlib.AsyncExitStack() as stack:
        database = app.state.database
        quota = side_database(database)
        stack.push_async_callback(quota.dispose)
        url = database.engine.url.render_as_string(hide_password=False)
        hub = Hub(libpq_conninfo(listen_url(settings, url), settings, "studyhall-listen"))
        await stack.enter_async_context(hub.subscribe(uuid.uuid4()))
        main_pool = settings.db_pool_size + settings.db_max_overflow
        held = [
            await stack.enter_async_context(database.engine.connect()) for _ in range(main_pool)
        ]
        held += [
            await stack.enter_async_context(quota.engine.connect())
            for _ in range(settings.db_quota_pool_size)
        ]
        pool = jobs.queue.connector.pool
        job_held = [
            await stack.enter_async_context(pool.connection()) for _ in range(pool.max_size)
        ]
        cursor = await job_held[0].execute("SHOW statement_timeout")
        job_timeout = await cursor.fetchone()
        report = {
            "saturated": True,
            "main": await _timeouts(held[0]),
            "quota": await _timeouts(held[-1]),
            "jobs": [job_timeout[0] if job_timeout else None],
        }
        print(json.dumps(report), flush=True)
        await asyncio.to_thread(sys.stdin.read)


if __name__ == "__main__":
    asyncio.run(main())
