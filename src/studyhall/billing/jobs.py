"""Billing's background work: the tasks live with the service topic that enqueues them (settlement,
refunds, webhooks, subscriptions, payouts); this module gathers them for the worker and holds the
periodic schedules. Every task takes ids, re-reads its rows and is safe to run twice."""

from __future__ import annotations

from datetime import UTC, datetime

from studyhall.accounts import service as account_closures
from studyhall.billing.service import expiry, payouts, subscriptions
from studyhall.billing.service.payouts import transfer_statement
from studyhall.billing.service.refunds import execute_refund
from studyhall.billing.service.settlement import (
    abandon_payment,
    charge_saved_card,
    reconcile_payment,
    reconcile_pending,
)
from studyhall.billing.service.subscriptions import renew_subscription
from studyhall.billing.service.webhooks import apply_webhook_event
from studyhall.db.rls import cross_users
from studyhall.jobs import queue, runtime

__all__ = [
    "abandon_payment",
    "apply_webhook_event",
    "charge_saved_card",
    "close_payout_month",
    "execute_refund",
    "hourly_sweep",
    "reconcile_payment",
    "reconcile_pending",
    "renew_subscription",
    "transfer_statement",
]

# A deleted account's subscription ends with it (accounts' closure job).
account_closures.on_account_closed("billing.subscriptions", subscriptions.end_for_closed_account)


@queue.periodic(cron="37 * * * *")
@queue.task(name="studyhall.billing.hourly_sweep", queue="billing")
async def hourly_sweep(timestamp: int) -> None:
    """Safety net behind the scheduled jobs: whatever a lost or failed job left behind (a
    payment still pending, a period that ended unrenewed) is picked up within the hour. It is
    also when credits whose validity ended unspent are written off (``service.expiry``), last:
    a student whose expiry fails is skipped, and ``ExpiryFailed`` then fails the job so its
    error is recorded in ``job_errors``."""
    await reconcile_pending()
    await subscriptions.run_renewals(runtime().database, datetime.now(UTC))
    await expiry.run_expiry(runtime().database, datetime.now(UTC))


@queue.periodic(cron="15 0 1 * *")
@queue.task(name="studyhall.billing.close_payout_month", queue="billing")
async def close_payout_month(timestamp: int) -> None:
    """On the 1st (UTC) the month just ended becomes each tutor's payout statement; due ones
    with a Connect account that can receive payouts are transferred (``payouts``)."""
    now = datetime.now(UTC)
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    async with runtime().database.transaction() as session:
        await cross_users(session)
        await payouts.close_period(session, month_start, now)
