"""Row level security: the one switch for work that crosses users.

Request code acts for one person: the transaction's signed identity (``db/identity.py``) names
that person and every policy applies. Some units of work must cross users: a job sweeping every
tutor, an admin route, a payment webhook settling someone's booking, a quota counted over a
household. Such a unit says so once, at its start, with ``cross_users(session)`` (or, for a
route, by taking ``SystemSession``)
and keeps that for its whole transaction. Nothing switches it back half-way: a function that needs
both halves is two units of work.

The declaration is signed like the identity: the policies honour it only through
``studyhall_crosses_users()``, which checks the signature, so SQL that sets the setting itself
crosses nobody.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.db.deps import SESSION
from studyhall.db.engine import Database
from studyhall.db.identity import declare

__all__ = ["SystemSession", "cross_users", "cross_users_transaction"]


async def cross_users(session: AsyncSession) -> None:
    """Declare that this transaction acts across users (jobs, admins, settlement)."""
    await declare(session, crosses_users=True)


@asynccontextmanager
async def cross_users_transaction(database: Database) -> AsyncIterator[AsyncSession]:
    """A short transaction of a job step that acts across users from its first statement."""
    async with database.transaction() as session:
        await cross_users(session)
        yield session


async def _system_session(session: AsyncSession = SESSION) -> AsyncSession:
    await cross_users(session)
    return session


# For routes whose whole unit of work crosses users (admin pages, provider callbacks).
SystemSession = Annotated[AsyncSession, Depends(_system_session)]
