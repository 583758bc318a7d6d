"""A subscription period's credits: what a paid period grants, whichever way it was paid (our own
renewal, or a Stripe invoice), granted once per period."""

from __future__ import annotations

from datetime import datetime

from dateutil.relativedelta import relativedelta
from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.billing.models import CreditLedgerEntry, Plan, Subscription
from studyhall.billing.service import expiry, ledger

PURPOSE = "subscription"
CYCLE_MONTHS = {"monthly": 1, "quarterly": 3, "yearly": 12}


def period_end(plan: Plan, start: datetime) -> datetime:
    return start + relativedelta(months=CYCLE_MONTHS[plan.billing_cycle])


async def grant_period_credits(
    session: AsyncSession, subscription: Subscription, plan: Plan, start: datetime
) -> bool:
    # Credits are for students; a tutor or admin subscriber gets the plan's AI quotas only.
    if plan.credits_per_period <= 0:
        return False
    if not await ledger.holds_credits(session, subscription.user_id):
        return False
    await ledger.lock_balance(session, subscription.user_id)
    granted = await session.scalar(
        select(
            exists().where(
                CreditLedgerEntry.subscription_id == subscription.id,
                CreditLedgerEntry.period_start == start.date(),
                CreditLedgerEntry.reason == "subscription",
            )
        )
    )
    if granted:
        return False
    await ledger.post(
        session,
        subscription.user_id,
        plan.credits_per_period,
        "subscription",
        source=ledger.Source(subscription_id=subscription.id, period_start=start.date()),
        note=f"{plan.name}: credits for the period from {start.date()}",
        expires_at=expiry.plan_credits_expiry(period_end(plan, start)),
    )
    return True
