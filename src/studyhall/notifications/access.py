"""Crossing users on purpose: the few paths that write or read other people's notifications.

Row level security admits only the signed-in user's rows. An event in one user's request (a tutor
confirms a booking) must create rows for another user (the student), and jobs and admin paths
act for no one; they lift the policy for the statements that need it, then put it back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_READ = text("SELECT current_setting('app.bypass_rls', true)")
_SET = text("SELECT set_config('app.bypass_rls', :value, true)")


@asynccontextmanager
async def across_users(session: AsyncSession) -> AsyncIterator[None]:
    previous = await session.scalar(_READ)
    await session.execute(_SET, {"value": "on"})
    yield
    # Not in a ``finally``: after an error the transaction is rolled back, which undoes the
    # transaction-local setting anyway, and a statement on an aborted transaction would fail.
    await session.execute(_SET, {"value": previous or ""})


async def system_session(session: AsyncSession) -> None:
    """For a job's own transaction, which acts for no user from start to end."""
    await session.execute(_SET, {"value": "on"})
