"""A pooled connection is pinged before use only after it sat idle: one that the database dropped
meanwhile (a restart, a proxy's idle cut) is replaced, and the caller never sees it."""

from __future__ import annotations

import asyncio

import psycopg
from sqlalchemy import text

from studyhall.bootstrap import DatabaseUrls
from studyhall.config import Settings
from studyhall.db import engine
from studyhall.db.engine import Database


async def _backend_pid(database: Database) -> int:
    async with database.transaction() as session:
        pid = await session.scalar(text("SELECT pg_backend_pid()"))
    assert isinstance(pid, int)
    return pid


async def test_a_connection_dropped_while_idle_is_replaced_before_use(
    settings: Settings, database_urls: DatabaseUrls
) -> None:
    database = Database.connect(database_urls.app, settings.model_copy(update={"db_pool_size": 1}))
    try:
        first = await _backend_pid(database)
        # The same role may end its own backends: the database drops the pooled connection.
        async with await psycopg.AsyncConnection.connect(database_urls.app) as other:
            await other.execute("SELECT pg_terminate_backend(%s)", (first,))
        await asyncio.sleep(engine.PING_AFTER_IDLE_S + 0.2)

        second = await _backend_pid(database)

        assert second != first
    finally:
        await database.dispose()
