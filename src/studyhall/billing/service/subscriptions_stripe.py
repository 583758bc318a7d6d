"""Stripe-collected subscriptions: Stripe runs the renewals; we mirror its state and record each
paid invoice as a payment that grants the period's credits once.

The mirror is order-independent: a subscription event is applied by re-fetching the subscription
(the job does that before it locks anything), and a paid invoice is keyed by its invoice id, which
UNIQUE (provider, provider_payment_id) on payments admits once.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import User
from studyhall.audit import service as audit
from studyhall.billing.config import billing_settings
from studyhall.billing.events import PaymentSucceeded
from studyhall.billing.models import Payment, Plan, Subscription
from studyhall.billing.providers.base import EventRejected, PaidInvoice, RemoteSubscription
from studyhall.billing.providers.stripe import StripeProvider
from studyhall.billing.service import payments
from studyhall.billing.service.plan_credits import PURPOSE, grant_period_credits
from studyhall.db.engine import Database
from studyhall.db.rls import cross_users
from studyhall.kit.errors import Unprocessable
from studyhall.kit.events import emit


def _stripe() -> StripeProvider:
    return StripeProvider(billing_settings())


def price_id(plan: Plan) -> str:
    """The plan's Stripe price; checked before anything is written."""
    price = plan.provider_plan_ids.get("stripe")
    if not price:
        raise Unprocessable(
            f"The plan {plan.key!r} has no Stripe price; set provider_plan_ids.stripe.",
            code="plan_not_on_provider",
        )
    return str(price)


async def open_remote(database: Database, subscription_id: uuid.UUID) -> RemoteSubscription | None:
    """Create the customer and the incomplete subscription at Stripe with no transaction open,
    then store Stripe's id in a short transaction.

    Safe to repeat: the idempotency keys are ``customer-<user>`` and
    ``subscription-<subscription>``, so a retry gets the same objects (and the first invoice's
    secret) back. Only the first answer is mirrored: once the id is stored, webhooks (which
    re-fetch Stripe's current state) keep the row up to date, and a replayed creation answer
    must not take it back. None: the member canceled it before it was opened (nothing to pay).
    """
    async with database.transaction() as session:
        await cross_users(session)
        subscription = await session.get(Subscription, subscription_id)
        assert subscription is not None
        user = await session.get(User, subscription.user_id)
        plan = await session.get(Plan, subscription.plan_id)
        assert user is not None and plan is not None
    if subscription.status == "canceled":
        return None
    customer_id = await payments.stripe_customer(database, user)
    remote = await _stripe().start_subscription(subscription_id, customer_id, price_id(plan))
    async with database.transaction() as session:
        await cross_users(session)
        subscription = await _lock(session, subscription_id)
        if subscription.provider_subscription_id is None:
            subscription.provider_subscription_id = remote.provider_subscription_id
            # Canceled meanwhile: keep the id (Stripe's events then find a canceled row, which
            # they leave alone) but not Stripe's state.
            canceled = subscription.status == "canceled"
            diff = {} if canceled else _mirror(subscription, remote)
            await session.flush()
            await audit.record(
                session,
                None,
                "subscription.open",
                "subscription",
                subscription.id,
                {"provider_subscription_id": remote.provider_subscription_id, **diff},
            )
    return remote


async def _lock(session: AsyncSession, subscription_id: uuid.UUID) -> Subscription:
    subscription = await session.scalar(
        select(Subscription)
        .where(Subscription.id == subscription_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert subscription is not None
    return subscription


async def cancel(subscription: Subscription, *, at_period_end: bool) -> RemoteSubscription:
    """Call before taking the subscription's row lock: no provider I/O under a lock."""
    assert subscription.provider_subscription_id is not None
    return await _stripe().cancel_subscription(
        subscription.provider_subscription_id, at_period_end=at_period_end
    )


def _mirror(subscription: Subscription, remote: RemoteSubscription) -> dict[str, object]:
    before = {
        "status": subscription.status,
        "current_period_start": subscription.current_period_start,
        "current_period_end": subscription.current_period_end,
        "cancel_at_period_end": subscription.cancel_at_period_end,
    }
    subscription.status = remote.status
    if remote.current_period_start and remote.current_period_end:
        subscription.current_period_start = remote.current_period_start
        subscription.current_period_end = remote.current_period_end
    subscription.cancel_at_period_end = remote.cancel_at_period_end
    if remote.status == "canceled" and subscription.canceled_at is None:
        subscription.canceled_at = datetime.now(UTC)
    after = {
        "status": subscription.status,
        "current_period_start": subscription.current_period_start,
        "current_period_end": subscription.current_period_end,
        "cancel_at_period_end": subscription.cancel_at_period_end,
    }
    return audit.changes(before, after)


async def _find(session: AsyncSession, provider_subscription_id: str) -> Subscription | None:
    return await session.scalar(
        select(Subscription)
        .where(
            Subscription.provider == "stripe",
            Subscription.provider_subscription_id == provider_subscription_id,
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def sync(session: AsyncSession, remote: RemoteSubscription) -> bool:
    """Apply Stripe's current state. False when we do not know the subscription (yet)."""
    subscription = await _find(session, remote.provider_subscription_id)
    if subscription is None:
        return False
    if subscription.status == "canceled":
        return True
    diff = _mirror(subscription, remote)
    await session.flush()
    if diff:
        await audit.record(
            session, None, "subscription.sync", "subscription", subscription.id, diff
        )
    return True


async def record_paid_invoice(session: AsyncSession, invoice: PaidInvoice) -> bool:
    """One succeeded payment per invoice, and the period's credits with it."""
    subscription = await _find(session, invoice.provider_subscription_id)
    if subscription is None:
        return False
    price = (subscription.price_cents, subscription.currency)
    if (invoice.amount_cents, invoice.currency) != price:
        # The plan's price is what the period's credits and access are sold for.
        raise EventRejected(
            f"invoice {invoice.invoice_id} paid {invoice.amount_cents} {invoice.currency}, but "
            f"subscription {subscription.id} costs {subscription.price_cents} "
            f"{subscription.currency}"
        )
    payment_id = await session.scalar(
        pg_insert(Payment)
        .values(
            user_id=subscription.user_id,
            type="subscription",
            purpose=PURPOSE,
            purpose_id=subscription.id,
            provider="stripe",
            provider_payment_id=invoice.invoice_id,
            amount_cents=invoice.amount_cents,
            currency=invoice.currency,
            status="succeeded",
            succeeded_at=datetime.now(UTC),
            description="subscription invoice",
        )
        .on_conflict_do_nothing(index_elements=["provider", "provider_payment_id"])
        .returning(Payment.id)
    )
    if payment_id is None:
        return True
    await audit.record(
        session, None, "payment.succeed", "payment", payment_id, {"invoice": invoice.invoice_id}
    )
    if subscription.status != "canceled":
        subscription.status = "active"
        if (
            subscription.current_period_start is None
            or invoice.period_start >= subscription.current_period_start
        ):
            subscription.current_period_start = invoice.period_start
            subscription.current_period_end = invoice.period_end
        await session.flush()
    plan = await session.get(Plan, subscription.plan_id)
    assert plan is not None
    await grant_period_credits(session, subscription, plan, invoice.period_start)
    await emit(
        session,
        PaymentSucceeded(
            payment_id=payment_id,
            user_id=subscription.user_id,
            purpose=PURPOSE,
            amount_cents=invoice.amount_cents,
            currency=invoice.currency,
            provider="stripe",
        ),
    )
    return True
