"""Stripe-collected subscriptions: Stripe runs the renewals; we mirror its state and record each
paid invoice as a payment that grants the period's credits once.

The mirror is order-independent: a subscription event is applied by re-fetching the subscription
(the job does that before it locks anything), and a paid invoice is keyed by its invoice id, which
UNIQUE (provider, provider_payment_id) on payments admits once.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import User
from studyhall.audit import service as audit
from studyhall.billing import payments
from studyhall.billing.config import billing_settings
from studyhall.billing.models import Payment, Plan, Subscription
from studyhall.billing.providers.base import PaidInvoice, RemoteSubscription
from studyhall.billing.providers.stripe import StripeProvider
from studyhall.kit.errors import Unprocessable


def _stripe() -> StripeProvider:
    return StripeProvider(billing_settings())


async def start(
    session: AsyncSession, user: User, subscription: Subscription, plan: Plan
) -> RemoteSubscription:
    price_id = plan.provider_plan_ids.get("stripe")
    if not price_id:
        raise Unprocessable(
            f"The plan {plan.key!r} has no Stripe price; set provider_plan_ids.stripe.",
            code="plan_not_on_provider",
        )
    customer_id = await payments.ensure_customer(session, user, "stripe")
    assert customer_id is not None
    remote = await _stripe().start_subscription(subscription.id, customer_id, price_id)
    subscription.provider_subscription_id = remote.provider_subscription_id
    _mirror(subscription, remote)
    await session.flush()
    return remote


async def cancel(subscription: Subscription, *, at_period_end: bool) -> RemoteSubscription:
    """Call before taking the subscription's row lock: no provider I/O under a lock (rule 4)."""
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
    from studyhall.billing.subscriptions import PURPOSE, grant_period_credits

    subscription = await _find(session, invoice.provider_subscription_id)
    if subscription is None:
        return False
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
    return True
