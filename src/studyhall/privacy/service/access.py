"""Privacy work crosses users on purpose: the export and erasure jobs read and remove one user's
rows in every domain, the retention jobs sweep old rows of everyone. Every statement they run is
scoped explicitly (to one user id, or to an age); they lift row level security for their own
transaction only, the way the other domains' jobs do."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def act_for_the_system(session: AsyncSession) -> None:
    await session.execute(text("SELECT set_config('app.bypass_rls', 'on', true)"))
