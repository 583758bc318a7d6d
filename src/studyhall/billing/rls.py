"""Row level security for billing's user-owned tables (payments, credit_ledger, subscriptions,
payment_customers, payment_methods; and accounts' student_profiles, which holds the credit
balance): the API role sees only rows of ``app.user_id``.

Code that legitimately crosses users — jobs, provider webhooks, admin routes — says so by setting
``app.bypass_rls`` for its transaction only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.db.engine import Database

RLS_TABLES = (
    "payments",
    "credit_ledger",
    "student_profiles",
    "subscriptions",
    "payment_customers",
    "payment_methods",
)


async def trust(session: AsyncSession) -> None:
    await session.execute(text("SELECT set_config('app.bypass_rls', 'on', true)"))


@asynccontextmanager
async def system_transaction(database: Database) -> AsyncIterator[AsyncSession]:
    """A transaction of trusted server-side code (a job): it may touch every user's rows."""
    async with database.transaction() as session:
        await trust(session)
        yield session
