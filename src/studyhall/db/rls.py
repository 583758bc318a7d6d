"""Row level security: the one switch for work that crosses users.

Request code acts for one person: the session's ``app.user_id`` is that person and every policy
applies. Some units of work must cross users: a job sweeping every tutor, an admin route, a
payment webhook settling someone's booking, a quota counted over a household. Such a unit says so
once, at its start, with ``cross_users(session)`` (or, for a route, by taking ``SystemSession``)
and keeps that for its whole transaction. Nothing switches it back half-way: a function that needs
both halves is two units of work.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.db.deps import SESSION

__all__ = ["SystemSession", "cross_users"]

_CROSS_USERS = text("SELECT set_config('app.bypass_rls', 'on', true)")


async def cross_users(session: AsyncSession) -> None:
    """Declare that this transaction acts across users (jobs, admins, settlement)."""
    await session.execute(_CROSS_USERS)


async def _system_session(session: AsyncSession = SESSION) -> AsyncSession:
    await cross_users(session)
    return session


# For routes whose whole unit of work crosses users (admin pages, provider callbacks).
SystemSession = Annotated[AsyncSession, Depends(_system_session)]
