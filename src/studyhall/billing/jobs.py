"""Billing jobs: apply stored webhooks, execute provider refunds, reconcile pending payments,
renew subscriptions, expire credits. Each takes ids, re-reads rows and is safe to run twice
(rule 3)."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts import service as account_closures
from studyhall.billing import (
    expiry,
    payments,
    payouts,
    providers,
    purposes,
    refunds,
    rls,
    saved_cards,
    subscriptions,
    webhooks,
)
from studyhall.billing.config import billing_settings
from studyhall.billing.models import Payment, Refund, WebhookEvent
from studyhall.billing.providers.base import (
    ProviderNotConfigured,
    ProviderUnavailable,
    RemotePayment,
)
from studyhall.billing.providers.paymob import PaymobProvider, order_id, transaction_event
from studyhall.billing.providers.stripe import StripeProvider
from studyhall.db.engine import Database
from studyhall.jobs import backoff, enqueue, queue, runtime

RECONCILE_BATCH = 200
log = logging.getLogger(__name__)

# A deleted account's subscription ends with it (accounts' closure job).
account_closures.on_account_closed("billing.subscriptions", subscriptions.end_for_closed_account)


@queue.task(name="studyhall.billing.apply_webhook_event", queue="billing", retry=backoff(5, 2))
async def apply_webhook_event(event_row_id: str) -> None:
    purposes.load_builtin()
    row_id = uuid.UUID(event_row_id)
    database = runtime().database
    remote = None
    async with rls.system_transaction(database) as session:
        meaning = await webhooks.peek(session, row_id)
    if meaning is not None and meaning.kind == "subscription_changed":
        assert meaning.provider_subscription_id is not None
        remote = await StripeProvider(billing_settings()).fetch_subscription(
            meaning.provider_subscription_id
        )
    async with rls.system_transaction(database) as session:
        done = await webhooks.apply(session, row_id, remote)
        if not done:
            attempts = await session.scalar(
                select(WebhookEvent.attempts).where(WebhookEvent.id == uuid.UUID(event_row_id))
            )
            await enqueue(
                session,
                apply_webhook_event,
                scheduled_at=datetime.now(UTC) + webhooks.retry_delay(int(attempts or 1)),
                event_row_id=event_row_id,
            )


@queue.task(name="studyhall.billing.execute_refund", queue="billing", retry=backoff(6, 3))
async def execute_refund(refund_id: str) -> None:
    purposes.load_builtin()
    database = runtime().database
    async with rls.system_transaction(database) as session:
        row = (
            await session.execute(
                select(
                    Refund.status,
                    Refund.amount_cents,
                    Payment.provider,
                    Payment.provider_payment_id,
                )
                .join(Payment, Payment.id == Refund.payment_id)
                .where(Refund.id == uuid.UUID(refund_id))
            )
        ).first()
    if row is None or row.status != "pending" or row.provider_payment_id is None:
        return
    # The provider call holds no lock: the refund's id is its idempotency key, so a retry after
    # a timeout cannot refund twice.
    remote = await providers.get(row.provider).refund(
        uuid.UUID(refund_id), row.provider_payment_id, int(row.amount_cents)
    )
    async with rls.system_transaction(database) as session:
        await refunds.complete(session, uuid.UUID(refund_id), remote)


MAX_RECONCILE_ATTEMPTS = 8


@queue.task(name="studyhall.billing.reconcile_payment", queue="billing", retry=backoff(5, 2))
async def reconcile_payment(payment_id: str, attempt: int = 1) -> None:
    """Scheduled when a remote payment starts: if no webhook has settled it by then, ask the
    provider, and ask again later (doubling the wait) while it stays pending.

    Jobs scheduled per payment rather than a periodic sweep: nothing runs when nothing is pending.
    """
    purposes.load_builtin()
    database = runtime().database
    async with rls.system_transaction(database) as session:
        payment = await session.get(Payment, uuid.UUID(payment_id))
        if payment is None or payment.status != "pending" or payment.provider == "manual":
            return
        provider, provider_payment_id = payment.provider, payment.provider_payment_id
        checkout_id = payment.provider_checkout_id
    outcome = await _settle_from_provider(
        database, payment.id, provider, provider_payment_id, checkout_id
    )
    if outcome is None and attempt < MAX_RECONCILE_ATTEMPTS:
        async with rls.system_transaction(database) as session:
            await schedule_reconciliation(session, payment.id, attempt + 1)


ABANDON_MESSAGES = {
    "hold_expired": "The booking's hold expired before it was paid.",
    "booking_canceled": "The booking was canceled before it was paid.",
}


@queue.task(name="studyhall.billing.abandon_payment", queue="billing", retry=backoff(5, 2))
async def abandon_payment(payment_id: str, reason: str) -> None:
    """What a pending remote payment paid for is gone (a booking's hold expired or was canceled):
    cancel it at the provider, holding no lock, then fail ours with ``reason``.

    Stripe: the PaymentIntent is canceled (idempotency key from our id); if Stripe says it had
    already succeeded, the payment succeeds here and its purpose refunds the late money. Paymob:
    an unpaid payment key has nothing to cancel; ours is failed, and a payment that still
    arrives succeeds from failed and is refunded the same way.
    """
    purposes.load_builtin()
    database = runtime().database
    async with rls.system_transaction(database) as session:
        payment = await session.get(Payment, uuid.UUID(payment_id))
        if payment is None or payment.status != "pending" or payment.provider == "manual":
            return
        provider, provider_payment_id = payment.provider, payment.provider_payment_id
    remote = RemotePayment(status="failed")
    if provider == "stripe" and provider_payment_id is not None:
        remote = await StripeProvider(billing_settings()).cancel_payment(
            payment.id, provider_payment_id
        )
    async with rls.system_transaction(database) as session:
        locked = await payments.lock(session, payment.id)
        if remote.status == "succeeded":
            if await webhooks.refuse_mismatched_answer(session, provider, locked, remote):
                return
            await payments.succeed(session, locked, actor=None)
        elif remote.status == "failed":
            message = ABANDON_MESSAGES.get(reason, reason)
            await payments.fail(session, locked, actor=None, code=reason, message=message)
        # Still pending (Stripe cannot cancel a payment that is processing): the scheduled
        # reconciliation settles it, and a late success is refunded by its purpose.


async def abandon_pending(
    session: AsyncSession, purpose: str, purpose_ids: list[uuid.UUID], reason: str
) -> None:
    """In the transaction that ends what ``purpose_ids`` were holding: their pending remote
    payments are canceled by ``abandon_payment`` once it commits. The caller has lifted row
    level security (it acts for the system)."""
    if not purpose_ids:
        return
    pending = await session.scalars(
        select(Payment.id).where(
            Payment.purpose == purpose,
            Payment.purpose_id.in_(purpose_ids),
            Payment.status == "pending",
            Payment.provider != "manual",
        )
    )
    for payment_id in pending.all():
        await enqueue(session, abandon_payment, payment_id=str(payment_id), reason=reason)


async def schedule_reconciliation(
    session: AsyncSession, payment_id: uuid.UUID, attempt: int = 1
) -> None:
    wait = timedelta(minutes=billing_settings().reconcile_after_minutes * 2 ** (attempt - 1))
    await enqueue(
        session,
        reconcile_payment,
        scheduled_at=datetime.now(UTC) + wait,
        payment_id=str(payment_id),
        attempt=attempt,
    )


async def _settle_from_provider(
    database: Database,
    payment_id: uuid.UUID,
    provider: str,
    provider_payment_id: str | None,
    provider_checkout_id: str | None,
) -> bool | None:
    """Ask the provider (holding no lock), then settle. None: still pending at the provider, or
    the provider could not answer (asked again later); otherwise whether this call changed the
    payment (a webhook may have settled it meanwhile)."""
    try:
        remote = await providers.get(provider).fetch_payment(
            payment_id, provider_payment_id, provider_checkout_id
        )
    except (ProviderUnavailable, ProviderNotConfigured) as exc:
        # Not configured (e.g. no Paymob API key): the payment waits for its webhook, and the
        # sweep goes on to the next payment and to renewals.
        log.warning(
            "reconciliation deferred", extra={"payment_id": str(payment_id), "error": str(exc)}
        )
        return None
    if remote.status == "pending":
        return None
    # The provider answered about this payment: its order finds the payment when applied.
    await payments.remember_order(database, payment_id, remote.provider_checkout_id)
    async with rls.system_transaction(database) as session:
        if remote.event is not None:
            before = await _status(session, payment_id)
            await webhooks.apply_fetched(session, provider, remote.event)
            return await _status(session, payment_id) != before
        payment = await payments.lock(session, payment_id)
        if remote.status == "succeeded":
            if await webhooks.refuse_mismatched_answer(session, provider, payment, remote):
                return None
            changed = await payments.succeed(
                session, payment, actor=None, provider_payment_id=remote.provider_payment_id
            )
        else:
            changed = await payments.fail(
                session,
                payment,
                actor=None,
                code=remote.failure_code,
                message=remote.failure_message,
            )
    return changed


async def _status(session: AsyncSession, payment_id: uuid.UUID) -> str | None:
    return await session.scalar(
        select(Payment.status)
        .where(Payment.id == payment_id)
        .execution_options(populate_existing=True)
    )


async def reconcile_pending() -> int:
    """Sweep: ask the provider about every payment left pending past the reconciliation delay
    (an operator's tool and the tests'; jobs normally do it one payment at a time).
    Returns how many this call settled."""
    purposes.load_builtin()
    database = runtime().database
    cutoff = datetime.now(UTC) - timedelta(minutes=billing_settings().reconcile_after_minutes)
    async with rls.system_transaction(database) as session:
        rows = (
            await session.execute(
                select(
                    Payment.id,
                    Payment.provider,
                    Payment.provider_payment_id,
                    Payment.provider_checkout_id,
                )
                .where(
                    Payment.status == "pending",
                    Payment.provider != "manual",
                    Payment.created_at < cutoff,
                )
                .order_by(Payment.created_at)
                .limit(RECONCILE_BATCH)
            )
        ).all()
    settled = 0
    for payment_id, provider, provider_payment_id, checkout_id in rows:
        outcome = await _settle_from_provider(
            database, payment_id, provider, provider_payment_id, checkout_id
        )
        settled += int(outcome is True)
    return settled


@queue.task(name="studyhall.billing.renew_subscription", queue="billing", retry=backoff(5, 2))
async def renew_subscription(subscription_id: str) -> None:
    """Scheduled for a manual/Paymob subscription's period end (and its grace end): renew,
    fall past due, lapse or end. Re-reads the row, so an early or repeated run changes nothing."""
    purposes.load_builtin()
    async with rls.system_transaction(runtime().database) as session:
        await subscriptions.renew_one(session, uuid.UUID(subscription_id), datetime.now(UTC))


@queue.task(name="studyhall.billing.charge_saved_card", queue="billing", retry=backoff(5, 2))
async def charge_saved_card(payment_id: str, payment_method_id: str) -> None:
    """Charge a saved card for a renewal payment written (and committed) by ``renew_one``, then
    apply Paymob's answer exactly as its transaction callback is applied. A retry asks Paymob
    first, so one payment (one period) is never charged twice; the reconciliation scheduled
    with the payment settles it if every attempt fails."""
    purposes.load_builtin()
    database = runtime().database
    async with rls.system_transaction(database) as session:
        charge = await saved_cards.prepare_charge(
            session, uuid.UUID(payment_id), uuid.UUID(payment_method_id)
        )
    if charge is None:
        return
    paymob = PaymobProvider(billing_settings())
    transaction = await paymob.charge_saved_card(charge.request, charge.card_token)
    # The order was created for this payment: its transaction (and callback) name that order.
    await payments.remember_order(database, charge.request.payment_id, order_id(transaction))
    async with rls.system_transaction(database) as session:
        await webhooks.apply_fetched(session, "paymob", transaction_event(transaction))


@queue.periodic(cron="37 * * * *")
@queue.task(name="studyhall.billing.hourly_sweep", queue="billing")
async def hourly_sweep(timestamp: int) -> None:
    """Safety net behind the scheduled jobs: whatever a lost or failed job left behind (a
    payment still pending, a period that ended unrenewed) is picked up within the hour. It is
    also when credits whose validity ended unspent are written off (``billing.expiry``), last:
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
    async with rls.system_transaction(runtime().database) as session:
        await payouts.close_period(session, month_start, now)
