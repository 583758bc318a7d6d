"""Engines and transactions: one transaction per request and per job."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from psycopg.conninfo import make_conninfo
from sqlalchemy.engine import make_url
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


def session_options(settings: Settings) -> str:
    """Server settings every connection of the process starts with (libpq ``options``).

    A runaway statement and a transaction left open by a stuck request are both ended by the
    server, whichever pool the connection came from.
    """
    # TimeZone=UTC: every timestamptz comes back in UTC, so responses say ``Z`` (kit.times).
    return (
        "-c TimeZone=UTC "
        f"-c statement_timeout={settings.db_statement_timeout_s * 1000} "
        f"-c idle_in_transaction_session_timeout={settings.db_idle_in_transaction_timeout_s * 1000}"
    )


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
    return create_async_engine(
        sqlalchemy_url(url),
        pool_size=settings.db_pool_size if pool_size is None else pool_size,
        max_overflow=settings.db_max_overflow if max_overflow is None else max_overflow,
        pool_timeout=settings.db_connect_timeout_s,
        pool_recycle=settings.db_pool_recycle_s,
        pool_pre_ping=True,
        hide_parameters=True,
        connect_args={
            "connect_timeout": settings.db_connect_timeout_s,
            "options": session_options(settings),
            "application_name": application_name,
        },
    )


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
