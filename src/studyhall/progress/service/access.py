"""Reading across learners on purpose: boards show other learners' totals and must honour their
privacy setting, which row level security would hide from the caller."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_READ = text("SELECT current_setting('app.bypass_rls', true)")
_SET = text("SELECT set_config('app.bypass_rls', :value, true)")


@asynccontextmanager
async def across_learners(session: AsyncSession) -> AsyncIterator[None]:
    previous = await session.scalar(_READ)
    await session.execute(_SET, {"value": "on"})
    yield
    # After an error the transaction rolls back, which undoes the setting anyway.
    await session.execute(_SET, {"value": previous or ""})
