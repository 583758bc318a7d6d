"""Plans and subscriptions, collected by Stripe (its own renewals) or by us (manual, Paymob).

Each paid period is one payment with purpose ``subscription``; its success moves the period forward
and grants the plan's credits for that period. The ledger's UNIQUE (subscription_id, period_start)
makes a second grant for the same period impossible, however the success is delivered.
Stripe runs its own renewals and reports them by webhook; for manual and Paymob subscriptions the
``renew_subscription`` job, scheduled for each period's end, does it here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import User
from studyhall.audit import service as audit
from studyhall.billing import providers
from studyhall.billing.config import billing_settings
from studyhall.billing.models import (
    LIVE_SUBSCRIPTION_STATUSES,
    Payment,
    Plan,
    Subscription,
)
from studyhall.billing.service import (
    checkout,
    payments,
    saved_cards,
    subscriptions_stripe,
)
from studyhall.billing.service.plan_credits import PURPOSE, grant_period_credits, period_end
from studyhall.billing.service.settlement import charge_saved_card, schedule_reconciliation
from studyhall.db.engine import Database
from studyhall.db.rls import cross_users
from studyhall.jobs import backoff, enqueue, queue, runtime
from studyhall.kit.errors import Conflict, NotFound
from studyhall.kit.paging import PageRequest, after

RENEWALS = uuid.UUID("6f1d3c52-8a4e-4b7a-9d0e-3c2b1a0f9e8d")


@dataclass(frozen=True)
class Entitlements:
    plan_key: str | None
    status: str | None
    entitled: bool
    current_period_end: datetime | None
    grace_until: datetime | None
    ai_daily_token_quota: int | None
    ai_monthly_token_quota: int | None


async def create_plan(session: AsyncSession, values: dict[str, Any], actor: uuid.UUID) -> Plan:
    checkout.validate_money(values["price_cents"], values["currency"])
    plan = Plan(**values, is_active=True)
    session.add(plan)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise Conflict(
            "A plan with this key, billing cycle and currency exists.", code="plan_exists"
        ) from exc
    await audit.record(session, actor, "plan.create", "plan", plan.id, values)
    return plan


async def update_plan(
    session: AsyncSession,
    plan_id: uuid.UUID,
    *,
    name: str | None,
    is_active: bool | None,
    actor: uuid.UUID,
) -> Plan:
    """Rename a plan or take it off sale (or back on). Its price, cycle and quotas never change:
    subscribers keep what they signed up for; a new price is a new plan."""
    plan = await session.get(Plan, plan_id, with_for_update=True)
    if plan is None:
        raise NotFound("No such plan.", code="plan_not_found")
    before = {"name": plan.name, "is_active": plan.is_active}
    if name is not None:
        plan.name = name
    if is_active is not None:
        plan.is_active = is_active
    await session.flush()
    after_ = {"name": plan.name, "is_active": plan.is_active}
    await audit.record(
        session, actor, "plan.update", "plan", plan.id, audit.changes(before, after_)
    )
    return plan


async def list_plans(
    session: AsyncSession, page: PageRequest, *, include_inactive: bool
) -> tuple[list[Plan], str | None]:
    """One page of the plans, by key and price."""
    order: list[ColumnElement[Any]] = [
        Plan.key.expression,
        Plan.price_cents.expression,
        Plan.id.expression,
    ]
    query = select(Plan)
    if not include_inactive:
        query = query.where(Plan.is_active.is_(True))
    beyond = after(order, page.key(str, int, uuid.UUID))
    if beyond is not None:
        query = query.where(beyond)
    rows = list(await session.scalars(query.order_by(*order).limit(page.limit + 1)))
    return page.of(rows, lambda plan: (plan.key, plan.price_cents, plan.id))


async def live(
    session: AsyncSession, user_id: uuid.UUID, *, lock: bool = False
) -> Subscription | None:
    query = select(Subscription).where(
        Subscription.user_id == user_id, Subscription.status.in_(LIVE_SUBSCRIPTION_STATUSES)
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return await session.scalar(query)


@dataclass(frozen=True)
class Subscribed:
    """What ``subscribe`` wrote: the subscription and, when a period is charged through our
    payments (manual, Paymob), its pending payment. Nothing has been asked of a provider yet."""

    subscription: Subscription
    payment: Payment | None


@dataclass(frozen=True)
class Opened:
    """The provider's answer for a new subscription: the first period's checkout (manual,
    Paymob), or the secret with which the client pays Stripe's first invoice."""

    payment: payments.Started | None
    client_secret: str | None = None


async def subscribe(
    session: AsyncSession, user: User, plan_id: uuid.UUID, provider: str | None
) -> Subscribed:
    """Write the subscription (and its first period's pending payment) in the caller's
    transaction; ``open_first`` goes to the provider after it commits, so no transaction waits
    on the network."""
    provider_name = checkout.choose_provider(provider)
    plan = await session.get(Plan, plan_id)
    if plan is None or not plan.is_active:
        raise NotFound("No such plan on sale.", code="plan_not_found")
    # A provider missing its settings, or a plan Stripe cannot sell, writes nothing.
    if provider_name == "stripe":
        subscriptions_stripe.price_id(plan)
    providers.get(provider_name).require_configured()
    if await live(session, user.id) is not None:
        raise Conflict("You already have a live subscription.", code="subscription_exists")
    now = datetime.now(UTC)
    # Stripe runs its own trials and first invoice; its state is mirrored once it answers.
    trial = plan.trial_days > 0 and provider_name != "stripe"
    subscription = Subscription(
        user_id=user.id,
        plan_id=plan.id,
        provider=provider_name,
        status="trial" if trial else "unpaid",
        price_cents=plan.price_cents,
        currency=plan.currency,
        started_at=now,
        current_period_start=now if trial else None,
        current_period_end=now + timedelta(days=plan.trial_days) if trial else None,
        cancel_at_period_end=False,
    )
    session.add(subscription)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise Conflict("You already have a live subscription.", code="subscription_exists") from exc
    await audit.record(
        session,
        user.id,
        "subscription.create",
        "subscription",
        subscription.id,
        {"plan": plan.key, "status": subscription.status, "provider": provider_name},
    )
    if provider_name == "stripe":
        return Subscribed(subscription, None)
    if trial:
        await _schedule_renewal(session, subscription)
        return Subscribed(subscription, None)
    return Subscribed(subscription, await _prepare_period(session, user, subscription, plan))


async def open_first(
    database: Database, subscription_id: uuid.UUID, payment_id: uuid.UUID | None
) -> Opened:
    """The provider step of subscribing, with no transaction open; safe to repeat."""
    if payment_id is not None:
        return Opened(await payments.open_checkout(database, payment_id))
    async with database.transaction() as session:
        await cross_users(session)
        provider = await session.scalar(
            select(Subscription.provider).where(Subscription.id == subscription_id)
        )
    if provider != "stripe":
        return Opened(None)  # a trial: nothing to collect yet
    remote = await subscriptions_stripe.open_remote(database, subscription_id)
    return Opened(None, None if remote is None else remote.client_secret)


async def _prepare_period(
    session: AsyncSession, user: User, subscription: Subscription, plan: Plan
) -> Payment:
    return await checkout.prepare(
        session,
        user=user,
        purpose=PURPOSE,
        purpose_id=subscription.id,
        amount_cents=subscription.price_cents,
        currency=subscription.currency,
        description=f"{plan.name} ({plan.billing_cycle})",
        provider=subscription.provider,
    )


async def _charge_period(
    session: AsyncSession, user: User, subscription: Subscription, plan: Plan
) -> payments.Started:
    # A manual renewal in the renewal job: the manual provider answers in-process.
    return await checkout.start(
        session,
        user=user,
        purpose=PURPOSE,
        purpose_id=subscription.id,
        amount_cents=subscription.price_cents,
        currency=subscription.currency,
        description=f"{plan.name} ({plan.billing_cycle})",
        provider=subscription.provider,
    )


async def pay_now(session: AsyncSession, user: User) -> Payment:
    """Write the pending payment for the next period (a past-due, unpaid or trial subscription);
    the route opens it at the provider after this transaction commits."""
    subscription = await live(session, user.id, lock=True)
    if subscription is None:
        raise NotFound("You have no live subscription.", code="subscription_not_found")
    if subscription.provider == "stripe":
        raise Conflict("Stripe collects this subscription itself.", code="provider_collects")
    if await _has_pending_payment(session, subscription.id):
        raise Conflict("A payment for this subscription is in progress.", code="payment_pending")
    if subscription.status == "active" and not _period_over(subscription, datetime.now(UTC)):
        raise Conflict("The current period is already paid.", code="period_already_paid")
    plan = await session.get(Plan, subscription.plan_id)
    assert plan is not None
    return await _prepare_period(session, user, subscription, plan)


async def _has_pending_payment(session: AsyncSession, subscription_id: uuid.UUID) -> bool:
    return bool(
        await session.scalar(
            select(
                exists().where(
                    Payment.purpose == PURPOSE,
                    Payment.purpose_id == subscription_id,
                    Payment.status == "pending",
                )
            )
        )
    )


def _period_over(subscription: Subscription, now: datetime) -> bool:
    end = subscription.current_period_end
    return end is not None and end <= now


async def cancel(session: AsyncSession, user: User, *, at_period_end: bool) -> Subscription:
    found = await live(session, user.id)
    if found is None:
        raise NotFound("You have no live subscription.", code="subscription_not_found")
    remote = None
    if found.provider == "stripe" and found.provider_subscription_id is not None:
        remote = await subscriptions_stripe.cancel(found, at_period_end=at_period_end)
    subscription = await _lock(session, found.id)
    if remote is not None:
        await subscriptions_stripe.sync(session, remote)
    elif at_period_end and subscription.status in ("active", "trial"):
        subscription.cancel_at_period_end = True
    else:
        subscription.status = "canceled"
        subscription.canceled_at = datetime.now(UTC)
    await session.flush()
    await audit.record(
        session,
        user.id,
        "subscription.cancel",
        "subscription",
        subscription.id,
        {"at_period_end": at_period_end, "status": subscription.status},
    )
    return subscription


async def end_for_closed_account(database: Database, user_id: uuid.UUID, closure: str) -> None:
    """A deleted account's live subscription is canceled at once: no more renewals, so its
    saved cards are never charged again. A suspension leaves it (it may be lifted)."""
    if closure != "deleted":
        return
    async with database.transaction() as session:
        await cross_users(session)
        user = await session.get(User, user_id)
        if user is None or user.deleted_at is None or await live(session, user_id) is None:
            return
        await cancel(session, user, at_period_end=False)


def entitlements_of(
    subscription: Subscription | None, plan: Plan | None, now: datetime
) -> Entitlements:
    if subscription is None or plan is None:
        return Entitlements(None, None, False, None, None, None, None)
    grace = timedelta(days=billing_settings().subscription_grace_days)
    end = subscription.current_period_end
    grace_until = None if end is None else end + grace
    if subscription.status in ("trial", "active", "past_due"):
        # Entitlements last through the grace period after an unpaid period end, then stop.
        entitled = grace_until is not None and now < grace_until
    else:
        entitled = False
    return Entitlements(
        plan.key,
        subscription.status,
        entitled,
        end,
        grace_until,
        plan.ai_daily_token_quota if entitled else 0,
        plan.ai_monthly_token_quota if entitled else 0,
    )


async def entitlements(session: AsyncSession, user_id: uuid.UUID) -> Entitlements:
    subscription = await live(session, user_id)
    plan = None if subscription is None else await session.get(Plan, subscription.plan_id)
    return entitlements_of(subscription, plan, datetime.now(UTC))


async def _lock(session: AsyncSession, subscription_id: uuid.UUID) -> Subscription:
    subscription = await session.scalar(
        select(Subscription)
        .where(Subscription.id == subscription_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert subscription is not None
    return subscription


async def on_payment_succeeded(session: AsyncSession, payment: Payment) -> None:
    subscription = await _lock(session, payment.purpose_id)
    if subscription.status == "canceled":
        return
    plan = await session.get(Plan, subscription.plan_id)
    assert plan is not None
    now = datetime.now(UTC)
    end = subscription.current_period_end
    # A payment made during or shortly after a period continues it, keeping the billing anchor;
    # after a lapse (``unpaid``) a new period starts now.
    start = end if end is not None and subscription.status != "unpaid" else now
    before = subscription.status
    subscription.status = "active"
    subscription.current_period_start = start
    subscription.current_period_end = period_end(plan, start)
    await session.flush()
    await _schedule_renewal(session, subscription)
    await audit.record(
        session,
        None,
        "subscription.period_paid",
        "subscription",
        subscription.id,
        {"status": [before, "active"], "period_start": start, "payment_id": str(payment.id)},
    )
    await grant_period_credits(session, subscription, plan, start)


async def on_payment_failed(session: AsyncSession, payment: Payment) -> None:
    subscription = await _lock(session, payment.purpose_id)
    if subscription.status in ("active", "trial") and _period_over(subscription, datetime.now(UTC)):
        subscription.status = "past_due"
        await session.flush()
        await _schedule_renewal(session, subscription, after_grace=True)
        await audit.record(
            session, None, "subscription.past_due", "subscription", subscription.id, None
        )


async def _schedule_renewal(
    session: AsyncSession, subscription: Subscription, *, after_grace: bool = False
) -> None:
    """Schedule the job that acts when the period (or its grace) ends; Stripe renews itself."""
    end = subscription.current_period_end
    if subscription.provider == "stripe" or end is None:
        return
    if after_grace:
        end += timedelta(days=billing_settings().subscription_grace_days)
    await enqueue(
        session, renew_subscription, scheduled_at=end, subscription_id=str(subscription.id)
    )


@queue.task(name="studyhall.billing.renew_subscription", queue="billing", retry=backoff(5, 2))
async def renew_subscription(subscription_id: str) -> None:
    """Scheduled for a manual/Paymob subscription's period end (and its grace end): renew,
    fall past due, lapse or end. Re-reads the row, so an early or repeated run changes nothing."""
    async with runtime().database.transaction() as session:
        await cross_users(session)
        await renew_one(session, uuid.UUID(subscription_id), datetime.now(UTC))


async def run_renewals(database: Database, now: datetime) -> dict[str, int]:
    """Move every subscription whose period ended: cancel, renew, fall past due, or lapse."""
    counts = {"canceled": 0, "renewed": 0, "past_due": 0, "unpaid": 0}
    async with database.transaction() as session:
        await cross_users(session)
        due = list(
            await session.scalars(
                select(Subscription.id).where(
                    Subscription.provider != "stripe",
                    Subscription.status.in_(("trial", "active", "past_due")),
                    Subscription.current_period_end <= now,
                )
            )
        )
    for subscription_id in due:
        async with database.transaction() as session:
            await cross_users(session)
            outcome = await renew_one(session, subscription_id, now)
            if outcome:
                counts[outcome] += 1
    return counts


async def renew_one(session: AsyncSession, subscription_id: uuid.UUID, now: datetime) -> str | None:
    subscription = await _lock(session, subscription_id)
    if subscription.status not in ("trial", "active", "past_due") or not _period_over(
        subscription, now
    ):
        return None
    if subscription.cancel_at_period_end:
        subscription.status = "canceled"
        subscription.canceled_at = now
        await audit.record(session, None, "subscription.end", "subscription", subscription.id, None)
        return "canceled"
    grace = timedelta(days=billing_settings().subscription_grace_days)
    end = subscription.current_period_end
    assert end is not None
    if subscription.status == "past_due":
        if now < end + grace:
            return None
        subscription.status = "unpaid"
        await audit.record(
            session, None, "subscription.lapse", "subscription", subscription.id, None
        )
        return "unpaid"
    if subscription.provider == "manual" and not await _has_pending_payment(
        session, subscription.id
    ):
        user = await session.get(User, subscription.user_id)
        plan = await session.get(Plan, subscription.plan_id)
        assert user is not None and plan is not None
        started = await _charge_period(session, user, subscription, plan)
        if started.payment.status == "succeeded":
            return "renewed"
    charging = (
        subscription.provider == "paymob"
        and not await _has_pending_payment(session, subscription.id)
        and await _charge_saved_card(session, subscription)
    )
    if charging:
        # Nothing moves yet: the charge job's answer renews the period or makes it past due.
        return None
    subscription.status = "past_due"
    await _schedule_renewal(session, subscription, after_grace=True)
    await audit.record(
        session, None, "subscription.past_due", "subscription", subscription.id, None
    )
    return "past_due"


def renewal_payment_id(subscription_id: uuid.UUID, period_start: datetime) -> uuid.UUID:
    """One payment id per subscription period: Paymob's merchant order id for the renewal, so a
    retried renewal finds (and never re-creates or re-charges) the period's order."""
    return uuid.uuid5(RENEWALS, f"{subscription_id}/{period_start.isoformat()}")


async def _charge_saved_card(session: AsyncSession, subscription: Subscription) -> bool:
    """Write the period's renewal payment and enqueue its charge: both commit together, and
    the charge runs after the commit, outside any transaction. False: no saved card."""
    if billing_settings().paymob_moto_integration_id is None:
        return False
    card = await saved_cards.latest(session, subscription.user_id, "paymob")
    if card is None:
        return False
    plan = await session.get(Plan, subscription.plan_id)
    assert plan is not None and subscription.current_period_end is not None
    payment_id = renewal_payment_id(subscription.id, subscription.current_period_end)
    inserted = await session.scalar(
        pg_insert(Payment)
        .values(
            id=payment_id,
            user_id=subscription.user_id,
            type="subscription",
            purpose=PURPOSE,
            purpose_id=subscription.id,
            provider="paymob",
            amount_cents=subscription.price_cents,
            currency=subscription.currency,
            status="pending",
            description=f"{plan.name} ({plan.billing_cycle}), renewal",
        )
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(Payment.id)
    )
    if inserted is None:
        return False  # this period's renewal was already charged (and settled)
    await audit.record(
        session,
        None,
        "payment.create",
        "payment",
        payment_id,
        {"purpose": PURPOSE, "amount_cents": subscription.price_cents, "card": str(card.id)},
    )
    await enqueue(
        session, charge_saved_card, payment_id=str(payment_id), payment_method_id=str(card.id)
    )
    await schedule_reconciliation(session, payment_id)
    return True
