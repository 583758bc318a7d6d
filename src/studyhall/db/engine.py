"""Engines and transactions: one transaction per request and per job (rule 1)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from studyhall.config import Settings


def sqlalchemy_url(url: str) -> str:
    """``postgresql://`` → the psycopg 3 driver SQLAlchemy expects."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def libpq_url(url: str) -> str:
    """The plain libpq form psycopg and procrastinate take."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def create_engine(url: str, settings: Settings) -> AsyncEngine:
    return create_async_engine(
        sqlalchemy_url(url),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_connect_timeout_s,
        pool_recycle=settings.db_pool_recycle_s,
        pool_pre_ping=True,
        connect_args={
            "connect_timeout": settings.db_connect_timeout_s,
            "options": f"-c statement_timeout={settings.db_statement_timeout_s * 1000}",
            "application_name": "studyhall",
        },
    )


@dataclass
class Database:
    """The app's engine (the non-owner role) and its session factory."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    @classmethod
    def connect(cls, url: str, settings: Settings) -> Database:
        engine = create_engine(url, settings)
        return cls(engine, async_sessionmaker(engine, expire_on_commit=False))

    @asynccontextmanager
    async def transaction(self, user_id: uuid.UUID | None = None) -> AsyncIterator[AsyncSession]:
        """Commit when the block ends, roll back when it raises."""
        async with self.sessions() as session, session.begin():
            if user_id is not None:
                await set_current_user(session, user_id)
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()


async def set_current_user(session: AsyncSession, user_id: uuid.UUID | None) -> None:
    """Transaction-local ``app.user_id``, for row level security policies."""
    await session.execute(
        text("SELECT set_config('app.user_id', :uid, true)"),
        {"uid": "" if user_id is None else str(user_id)},
    )
