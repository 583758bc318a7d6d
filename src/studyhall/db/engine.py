"""Engines and transactions: one transaction per request and per job."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from psycopg.conninfo import make_conninfo
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from studyhall.config import Settings
from studyhall.db.identity import declare, rls_key, session_info


def sqlalchemy_url(url: str) -> str:
    """``postgresql://`` → the psycopg 3 driver SQLAlchemy expects."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def libpq_url(url: str) -> str:
    """The plain libpq form psycopg and procrastinate take."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def _server_settings(settings: Settings) -> dict[str, str]:
    """What every connection of the process runs with, whichever pool it came from: a runaway
    statement and a transaction left open by a stuck request are both ended by the server."""
    return {
        # Every timestamptz comes back in UTC, so responses say ``Z`` (kit.times).
        "TimeZone": "UTC",
        "statement_timeout": str(settings.db_statement_timeout_s * 1000),
        "idle_in_transaction_session_timeout": str(
            settings.db_idle_in_transaction_timeout_s * 1000
        ),
    }


def session_options(settings: Settings) -> str:
    """The server settings as libpq ``options``, sent once when a connection starts."""
    return " ".join(f"-c {name}={value}" for name, value in _server_settings(settings).items())


def listen_url(settings: Settings, app_url: str) -> str:
    """The URL of the connections that LISTEN (job queue, notifications stream). A LISTEN needs
    a server session of its own, which a transaction-mode pooler does not give: the app role's
    direct URL (``STUDYHALL_APP_DATABASE_DIRECT_URL``) when set, as it must be behind one."""
    if settings.app_database_direct_url:
        return libpq_url(settings.app_database_direct_url)
    return app_url


def _apply_per_transaction(engine: AsyncEngine, settings: Settings) -> None:
    """Behind PgBouncer in transaction mode each transaction may run on another server
    connection, and PgBouncer refuses the ``options`` startup parameter: the server settings are
    set at the start of every transaction instead (``set_config(..., true)``: for it alone)."""
    values = _server_settings(settings)
    statement = "SELECT " + ", ".join(
        f"set_config('{name}', '{value}', true)" for name, value in values.items()
    )

    @event.listens_for(engine.sync_engine, "begin")
    def apply(connection: Connection) -> None:
        connection.exec_driver_sql(statement)


def libpq_conninfo(url: str, settings: Settings, application_name: str) -> str:
    """A psycopg connection string for ``url`` with the process's timeouts and a name."""
    return make_conninfo(
        libpq_url(url),
        options=session_options(settings),
        application_name=application_name,
        connect_timeout=settings.db_connect_timeout_s,
    )


def create_engine(
    url: str,
    settings: Settings,
    *,
    pool_size: int | None = None,
    max_overflow: int | None = None,
    application_name: str = "studyhall",
) -> AsyncEngine:
    """An engine of at most ``pool_size + max_overflow`` connections (the main pool's by default).

    ``hide_parameters``: an error's message and log line never carry the statement's values,
    which hold users' questions, e-mail addresses and answers.
    """
    engine = create_async_engine(
        sqlalchemy_url(url),
        pool_size=settings.db_pool_size if pool_size is None else pool_size,
        max_overflow=settings.db_max_overflow if max_overflow is None else max_overflow,
        pool_timeout=settings.db_connect_timeout_s,
        pool_recycle=settings.db_pool_recycle_s,
        hide_parameters=True,
        connect_args=_connect_args(settings, application_name),
    )
    if settings.database_pgbouncer:
        _apply_per_transaction(engine, settings)
    ping_after_idle(engine)
    return engine


def _connect_args(settings: Settings, application_name: str) -> dict[str, object]:
    args: dict[str, object] = {
        "connect_timeout": settings.db_connect_timeout_s,
        "application_name": application_name,
    }
    if settings.database_pgbouncer:
        # psycopg prepares a statement run five times on its connection; behind a
        # transaction-mode pooler the next transaction may run on a connection that never saw
        # it ("prepared statement does not exist"). psycopg's documented answer: never prepare.
        args["prepare_threshold"] = None
    else:
        args["options"] = session_options(settings)
    return args


# A connection back in the pool for less than this was working a moment ago: it is handed out
# without a ping. Under load that saves a round trip per request; an idle pool still pings.
PING_AFTER_IDLE_S = 1.0
_IDLE_SINCE = "studyhall_idle_since"


def ping_after_idle(engine: AsyncEngine) -> None:
    """SQLAlchemy's ``pool_pre_ping``, but only for a connection that sat idle: a dead one (the
    database restarted, a proxy dropped it) is replaced before a request uses it."""
    pool = engine.sync_engine.pool
    dialect = engine.sync_engine.dialect

    def checked_in(dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    def checked_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        idle_since = record.info.pop(_IDLE_SINCE, None)
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_S:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # The pool discards this connection and checks out another (a fresh one).
            raise DisconnectionError("the pooled connection did not answer a ping") from exc

    event.listen(pool, "checkin", checked_in)
    event.listen(pool, "checkout", checked_out)


@dataclass
class Database:
    """The app's engine (the non-owner role) and its session factory."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    settings: Settings | None = None

    @classmethod
    def connect(cls, url: str, settings: Settings) -> Database:
        return cls.over(create_engine(url, settings), settings)

    @classmethod
    def over(cls, engine: AsyncEngine, settings: Settings) -> Database:
        """A Database on ``engine`` whose sessions sign their identity with the app's key."""
        key = rls_key(settings.secret_key.get_secret_value())
        sessions = async_sessionmaker(engine, expire_on_commit=False, info=session_info(key))
        return cls(engine, sessions, settings)

    @asynccontextmanager
    async def transaction(self, user_id: uuid.UUID | None = None) -> AsyncIterator[AsyncSession]:
        """Commit when the block ends, roll back when it raises."""
        async with self.sessions() as session, session.begin():
            if user_id is not None:
                await set_current_user(session, user_id)
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()


async def set_current_user(
    session: AsyncSession, user_id: uuid.UUID | None, *, admin: bool = False
) -> None:
    """The person the transaction acts for (and whether they are an admin), signed and set in
    one statement for the row level security policies (``db/identity.py``)."""
    await declare(session, user_id=user_id, admin=admin)
