"""Asking a provider and settling what it answers, outside any request: a payment left pending is
reconciled, one whose purpose is gone is abandoned, a renewal is charged to a saved card.

Each job takes ids, re-reads its rows and is safe to run twice; the provider is called with no
transaction open and no lock held, and its answer is applied in a short transaction of its own,
exactly as the provider's callback carrying the same object would be (``webhooks.apply_fetched``).
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.billing import providers
from studyhall.billing.config import billing_settings
from studyhall.billing.models import Payment
from studyhall.billing.providers.base import (
    ProviderNotConfigured,
    ProviderUnavailable,
    RemotePayment,
)
from studyhall.billing.providers.paymob import PaymobProvider, order_id, transaction_event
from studyhall.billing.providers.stripe import StripeProvider
from studyhall.billing.service import payments, saved_cards, webhooks
from studyhall.db.engine import Database
from studyhall.db.rls import cross_users
from studyhall.jobs import backoff, enqueue, queue, runtime

RECONCILE_BATCH = 200
log = logging.getLogger(__name__)


MAX_RECONCILE_ATTEMPTS = 8


@queue.task(name="studyhall.billing.reconcile_payment", queue="billing", retry=backoff(5, 2))
async def reconcile_payment(payment_id: str, attempt: int = 1) -> None:
    """Scheduled when a remote payment starts: if no webhook has settled it by then, ask the
    provider, and ask again later (doubling the wait) while it stays pending.

    Jobs scheduled per payment rather than a periodic sweep: nothing runs when nothing is pending.
    """
    database = runtime().database
    async with database.transaction() as session:
        await cross_users(session)
        payment = await session.get(Payment, uuid.UUID(payment_id))
        if payment is None or payment.status != "pending" or payment.provider == "manual":
            return
        provider, provider_payment_id = payment.provider, payment.provider_payment_id
        checkout_id = payment.provider_checkout_id
    outcome = await _settle_from_provider(
        database, payment.id, provider, provider_payment_id, checkout_id
    )
    if outcome is None and attempt < MAX_RECONCILE_ATTEMPTS:
        async with database.transaction() as session:
            await cross_users(session)
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
    database = runtime().database
    async with database.transaction() as session:
        await cross_users(session)
        payment = await session.get(Payment, uuid.UUID(payment_id))
        if payment is None or payment.status != "pending" or payment.provider == "manual":
            return
        provider, provider_payment_id = payment.provider, payment.provider_payment_id
    remote = RemotePayment(status="failed")
    if provider == "stripe" and provider_payment_id is not None:
        remote = await StripeProvider(billing_settings()).cancel_payment(
            payment.id, provider_payment_id
        )
    async with database.transaction() as session:
        await cross_users(session)
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


async def abandon_pending_payment(
    session: AsyncSession, purpose: str, purpose_ids: list[uuid.UUID], reason: str
) -> None:
    """In the transaction that ends what ``purpose_ids`` were holding: their pending remote
    payments are canceled by ``abandon_payment`` once it commits. The caller's unit of work
    crosses users (``db.rls.cross_users``): it acts for the system."""
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
    async with database.transaction() as session:
        await cross_users(session)
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
    database = runtime().database
    cutoff = datetime.now(UTC) - timedelta(minutes=billing_settings().reconcile_after_minutes)
    async with database.transaction() as session:
        await cross_users(session)
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


@queue.task(name="studyhall.billing.charge_saved_card", queue="billing", retry=backoff(5, 2))
async def charge_saved_card(payment_id: str, payment_method_id: str) -> None:
    """Charge a saved card for a renewal payment written (and committed) by ``renew_one``, then
    apply Paymob's answer exactly as its transaction callback is applied. A retry asks Paymob
    first, so one payment (one period) is never charged twice; the reconciliation scheduled
    with the payment settles it if every attempt fails."""
    database = runtime().database
    async with database.transaction() as session:
        await cross_users(session)
        charge = await saved_cards.prepare_charge(
            session, uuid.UUID(payment_id), uuid.UUID(payment_method_id)
        )
    if charge is None:
        return
    paymob = PaymobProvider(billing_settings())
    transaction = await paymob.charge_saved_card(charge.request, charge.card_token)
    # The order was created for this payment: its transaction (and callback) name that order.
    await payments.remember_order(database, charge.request.payment_id, order_id(transaction))
    async with database.transaction() as session:
        await cross_users(session)
        await webhooks.apply_fetched(session, "paymob", transaction_event(transaction))
