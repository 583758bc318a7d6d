"""``studyhall demo``: a few credit packs and plans, so billing can be tried with no setup, and
the demo tutors' first payout statement (their past sessions, closed when the demo loads)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.billing.models import CreditPack, Plan
from studyhall.billing.service import payouts
from studyhall.config import Settings
from studyhall.db.rls import cross_users

PACKS = (("Starter credits", 50, 500, "USD"), ("Study pack", 220, 2000, "USD"),
         ("Paymob pack", 200, 15000, "EGP"))  # fmt: skip
PLANS = (
    ("starter", "Starter", "monthly", 900, "USD", 40, 20_000, 7),
    ("pro", "Pro", "monthly", 1900, "USD", 120, None, 7),
    ("pro", "Pro (EGP)", "monthly", 29900, "EGP", 120, None, 0),
)


async def load(session: AsyncSession, settings: Settings) -> list[str]:
    await cross_users(session)  # the payout statements gather every tutor's entries
    added = 0
    for name, credits, price, currency in PACKS:
        exists = await session.scalar(select(CreditPack.id).where(CreditPack.name == name))
        if exists is None:
            session.add(
                CreditPack(name=name, credits=credits, price_cents=price, currency=currency)
            )
            added += 1
    for key, title, cycle, price, currency, credits, daily, trial in PLANS:
        await session.execute(
            pg_insert(Plan)
            .values(
                key=key,
                name=title,
                billing_cycle=cycle,
                price_cents=price,
                currency=currency,
                credits_per_period=credits,
                ai_daily_token_quota=daily,
                trial_days=trial,
            )
            .on_conflict_do_nothing(index_elements=["key", "billing_cycle", "currency"])
        )
    await session.flush()
    now = datetime.now(UTC)
    statements = await payouts.close_period(session, now, now)
    return [
        f"billing: {added} credit packs added, {len(PLANS)} plans in the catalogue, "
        f"{len(statements)} payout statements"
    ]
