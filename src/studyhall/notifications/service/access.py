"""Notifying someone else from inside another person's request.

Row level security admits only the signed-in user's rows. When a tutor confirms a booking, the
tutor's request must read the student's channel choices and write the student's notification and
reminders; those few statements, and only those, run across users. Whole units of work that act
for no one (delivery and broadcast jobs, admin routes, the unsubscribe link) do not use this: they
declare it once at their start with ``studyhall.db.rls.cross_users`` or ``SystemSession``.
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
    """Run the block across users, then put back what the transaction had before."""
    previous = await session.scalar(_READ)
    await session.execute(_SET, {"value": "on"})
    yield
    # Not in a ``finally``: after an error the transaction is rolled back, which undoes the
    # transaction-local setting anyway, and a statement on an aborted transaction would fail.
    await session.execute(_SET, {"value": previous or ""})
