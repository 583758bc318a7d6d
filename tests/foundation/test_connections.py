"""Every pool of a process together stays within ``Settings.connections_per_process``."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import procrastinate
import pytest
import sqlalchemy.exc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from studyhall.config import Settings
from studyhall.db.engine import Database, libpq_conninfo
from studyhall.jobs import core as jobs
from studyhall.notifications.service.stream import Hub
from studyhall.study.service.quota import side_database

PROCESSES = 3


@dataclass
class Process:
    """What one API process opens: main pool, quota pool, job pool, notifications listener."""

    database: Database
    quota: Database
    jobs: procrastinate.PsycopgConnector
    hub: Hub


def _small(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "db_pool_size": 2,
            "db_max_overflow": 1,
            "db_quota_pool_size": 1,
            "db_job_pool_size": 2,
            "db_connect_timeout_s": 1,  # a full pool answers quickly
            "db_statement_timeout_s": 7,
            "db_idle_in_transaction_timeout_s": 120,
        }
    )


async def _hold(engine_connect: Any, count: int, stack: contextlib.AsyncExitStack) -> list[Any]:
    return list(
        await asyncio.gather(*(stack.enter_async_context(engine_connect()) for _ in range(count)))
    )


async def _saturate(
    process: Process, settings: Settings, stack: contextlib.AsyncExitStack
) -> tuple[list[AsyncConnection], list[Any]]:
    """Take every connection every pool of ``process`` will give."""
    main = await _hold(
        process.database.engine.connect, settings.db_pool_size + settings.db_max_overflow, stack
    )
    quota = await _hold(process.quota.engine.connect, settings.db_quota_pool_size, stack)
    job = await _hold(process.jobs.pool.connection, settings.db_job_pool_size, stack)
    await stack.enter_async_context(process.hub.subscribe(uuid.uuid4()))
    return main + quota, job


@contextlib.asynccontextmanager
async def _processes(settings: Settings, url: str) -> AsyncIterator[list[Process]]:
    processes = []
    for _ in range(PROCESSES):
        database = Database.connect(url, settings)
        connector = jobs.job_connector(url, settings)
        await connector.open_async()
        hub = Hub(libpq_conninfo(url, settings, "studyhall-listen"))
        processes.append(Process(database, side_database(database), connector, hub))
    try:
        yield processes
    finally:
        for process in processes:
            await process.jobs.close_async()
            await process.quota.dispose()
            await process.database.dispose()


async def _connections_by_name(owner_db: Database) -> dict[str, int]:
    async with owner_db.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT application_name, count(*) AS n FROM pg_stat_activity "
                "WHERE datname = current_database() AND usename = :role "
                "GROUP BY application_name"
            ),
            {"role": "studyhall_app"},
        )
        return {row.application_name: row.n for row in rows}


async def test_saturated_processes_stay_within_the_documented_bound(
    settings: Settings, database_urls: Any, owner_db: Database
) -> None:
    small = _small(settings)
    per_process = small.connections_per_process
    assert per_process == 2 + 1 + 1 + 2 + 1
    async with (
        _processes(small, database_urls.app) as processes,
        contextlib.AsyncExitStack() as stack,
    ):
        held = [await _saturate(process, small, stack) for process in processes]
        # Each pool is at its limit: one more connection waits and gives up.
        for pool in (processes[0].database, processes[0].quota):
            with pytest.raises(sqlalchemy.exc.TimeoutError):
                async with pool.engine.connect():
                    pass
        by_name = await _connections_by_name(owner_db)
        pooled, job_connections = held[0]
        for connection in pooled:
            timeouts = (
                await connection.execute(
                    text(
                        "SELECT current_setting('statement_timeout') AS s, "
                        "current_setting('idle_in_transaction_session_timeout') AS i"
                    )
                )
            ).one()
            assert (timeouts.s, timeouts.i) == ("7s", "2min")
        for raw in job_connections:
            cursor = await raw.execute("SHOW idle_in_transaction_session_timeout")
            assert await cursor.fetchone() == ("2min",)
    assert by_name == {
        "studyhall": PROCESSES * 3,
        "studyhall-quota": PROCESSES * 1,
        "studyhall-jobs": PROCESSES * 2,
        "studyhall-listen": PROCESSES * 1,
    }
    assert sum(by_name.values()) == PROCESSES * per_process


def test_the_default_budget_fits_a_default_server() -> None:
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    assert defaults.connections_per_process == 5 + 5 + 2 + 3 + 1
    # PostgreSQL's default max_connections is 100, of which 3 are reserved for superusers.
    assert (100 - 3) // defaults.connections_per_process == 6
