"""Webhooks: verify, store, acknowledge; a job applies each stored event exactly once.

The endpoint does no business work: an event is verified against the raw body, inserted into
``webhook_events`` (UNIQUE (provider, event_id) drops redeliveries) and its job is enqueued in the
same transaction. The job locks the event row, applies it, and stamps ``processed_at``; a second
run finds the stamp and stops. Events are order-independent because every effect is monotonic (a
success after a refund is a no-op, a refund total never decreases), and an event about a payment
we have not committed yet is retried later instead of being dropped.

A verified event still proves only what its provider signed. The payment it names must be found
by signed fields, an unsigned copy of our reference must agree with it, and a success must be for
the payment's amount and currency. An event that fails this is stored as rejected with its reason
(checked on receipt when the payment is already known, else when applied), changes nothing, and
gives up its event id so the genuine delivery of the same event is still stored and applied.
Admins list events, rejected ones included (``GET /billing/admin/webhook-events``).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.billing import providers
from studyhall.billing.config import billing_settings
from studyhall.billing.models import Payment, WebhookEvent
from studyhall.billing.providers.base import (
    EventRejected,
    PaymentEvent,
    RemotePayment,
    RemoteSubscription,
    VerifiedEvent,
)
from studyhall.billing.providers.stripe import StripeProvider
from studyhall.billing.service import payments, payouts, refunds, saved_cards, subscriptions_stripe
from studyhall.db.rls import cross_users
from studyhall.jobs import backoff, enqueue, queue, runtime
from studyhall.kit.errors import NotFound
from studyhall.kit.paging import PageRequest, after

MAX_BODY_BYTES = 512 * 1024
MAX_ATTEMPTS = 8


@dataclass(frozen=True)
class Received:
    """``row_id`` is None for a redelivery; ``rejected_reason`` is set when the event was kept as
    rejected on receipt (it will change nothing)."""

    row_id: uuid.UUID | None
    event_id: str
    rejected_reason: str | None = None


@queue.task(name="studyhall.billing.apply_webhook_event", queue="billing", retry=backoff(5, 2))
async def apply_webhook_event(event_row_id: str) -> None:
    """Apply one stored event once, fetching a subscription's current state from Stripe first
    (with no lock held); an event about something not committed yet is retried later."""
    row_id = uuid.UUID(event_row_id)
    database = runtime().database
    remote = None
    async with database.transaction() as session:
        await cross_users(session)
        meaning = await peek(session, row_id)
    if meaning is not None and meaning.kind == "subscription_changed":
        assert meaning.provider_subscription_id is not None
        remote = await StripeProvider(billing_settings()).fetch_subscription(
            meaning.provider_subscription_id
        )
    async with database.transaction() as session:
        await cross_users(session)
        done = await apply(session, row_id, remote)
        if not done:
            attempts = await session.scalar(
                select(WebhookEvent.attempts).where(WebhookEvent.id == uuid.UUID(event_row_id))
            )
            await enqueue(
                session,
                apply_webhook_event,
                scheduled_at=datetime.now(UTC) + retry_delay(int(attempts or 1)),
                event_row_id=event_row_id,
            )


async def ingest(
    session: AsyncSession,
    provider_name: str,
    body: bytes,
    headers: Mapping[str, str],
    query: Mapping[str, str],
) -> Received:
    if provider_name not in ("stripe", "paymob"):
        raise NotFound(f"No webhooks are accepted for {provider_name!r}.", code="unknown_provider")
    provider = providers.get(provider_name)
    verified = provider.verify_webhook(body, headers, query)
    reason = await _screen(
        session, provider_name, provider.interpret(verified.event_type, verified.payload)
    )
    if reason is not None:
        # Kept for admins under an id of its own: the genuine event is still accepted after it.
        digest = hashlib.sha256(body).hexdigest()[:16]
        rejected = replace(verified, event_id=f"{verified.event_id[:200]}:rejected:{digest}")
        row_id = await _store(session, provider_name, rejected, rejected_reason=reason)
        return Received(row_id, rejected.event_id, reason)
    row_id = await _store(session, provider_name, verified)
    if row_id is not None:
        await enqueue(session, apply_webhook_event, event_row_id=str(row_id))
    return Received(row_id, verified.event_id)


async def _screen(session: AsyncSession, provider: str, event: PaymentEvent) -> str | None:
    """On receipt: why the event cannot be what it claims, when the payment it names is already
    known (None otherwise; applying it checks again)."""
    if event.kind not in ("payment_succeeded", "payment_failed", "payment_refunded"):
        return None
    payment = await payments.find_for_update(
        session,
        provider,
        event.payment_id,
        event.provider_payment_id,
        event.provider_order_id,
        lock=False,
    )
    return None if payment is None else mismatch(payment, event)


def mismatch(payment: Payment, event: PaymentEvent) -> str | None:
    """Why ``event`` cannot be about ``payment`` as it claims, or None when it can."""
    if event.stated_reference is not None and event.stated_reference != str(payment.id):
        return (
            f"the unsigned merchant reference {event.stated_reference[:64]!r} names another "
            f"payment than the signed order {event.provider_order_id} (payment {payment.id})"
        )
    if event.kind == "payment_succeeded" and (
        event.amount_cents != payment.amount_cents or event.currency != payment.currency
    ):
        return (
            f"paid {event.amount_cents} {event.currency}, but payment {payment.id} is "
            f"{payment.amount_cents} {payment.currency}"
        )
    return None


async def refuse_mismatched_answer(
    session: AsyncSession, provider: str, payment: Payment, remote: RemotePayment
) -> bool:
    """A provider's answer that the payment succeeded (reconciliation, a refused cancel) counts
    only for the payment's amount and currency. Otherwise it is kept for admins as a rejected
    event (once per payment and answer) and True is returned: the payment is left as it is."""
    claimed = PaymentEvent(
        "payment_succeeded", amount_cents=remote.amount_cents, currency=remote.currency
    )
    reason = mismatch(payment, claimed)
    if reason is None:
        return False
    answer = VerifiedEvent(
        f"answer:{payment.id}:rejected:{remote.amount_cents}:{remote.currency}",
        "provider_answer.succeeded",
        {
            "payment_id": str(payment.id),
            "provider_payment_id": remote.provider_payment_id or payment.provider_payment_id,
            "amount_cents": remote.amount_cents,
            "currency": remote.currency,
        },
    )
    await _store(session, provider, answer, rejected_reason=reason)
    return True


async def _store(
    session: AsyncSession,
    provider_name: str,
    verified: VerifiedEvent,
    *,
    rejected_reason: str | None = None,
) -> uuid.UUID | None:
    """The row id, or None when this event id is already stored."""
    return await session.scalar(
        pg_insert(WebhookEvent)
        .values(
            provider=provider_name,
            event_id=verified.event_id,
            event_type=verified.event_type,
            payload=verified.payload,
            rejected_reason=rejected_reason,
            processed_at=None if rejected_reason is None else datetime.now(UTC),
        )
        .on_conflict_do_nothing(index_elements=["provider", "event_id"])
        .returning(WebhookEvent.id)
    )


async def apply_fetched(session: AsyncSession, provider_name: str, fetched: VerifiedEvent) -> None:
    """Apply what the provider answered when asked, exactly as the callback carrying the same
    object is applied: stored under the callback's event id (so that callback, arriving later,
    is a duplicate) and applied through ``apply``, which applies a stored event once."""
    row_id = await _store(session, provider_name, fetched)
    if row_id is None:
        row_id = await session.scalar(
            select(WebhookEvent.id).where(
                WebhookEvent.provider == provider_name,
                WebhookEvent.event_id == fetched.event_id,
            )
        )
    assert row_id is not None
    await apply(session, row_id)


async def apply(
    session: AsyncSession,
    event_row_id: uuid.UUID,
    remote_subscription: RemoteSubscription | None = None,
) -> bool:
    """Apply one stored event. Returns False when it must be retried later.

    ``remote_subscription`` is the provider's current state for a subscription event, fetched by
    the caller before this transaction took any lock.
    """
    event = await session.scalar(
        select(WebhookEvent)
        .where(WebhookEvent.id == event_row_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if event is None or event.processed_at is not None:
        return True
    event.attempts += 1
    interpreted = providers.get(event.provider).interpret(event.event_type, event.payload)
    try:
        known = await _dispatch(session, event.provider, interpreted, remote_subscription)
    except EventRejected as rejected:
        _reject(event, rejected.reason)
        known = True
    if not known:
        event.last_error = "the payment or order this event names is not known (yet)"
        if event.attempts < MAX_ATTEMPTS:
            return False
    event.processed_at = datetime.now(UTC)
    await session.flush()
    return True


def _reject(event: WebhookEvent, reason: str) -> None:
    """Nothing was changed for it; the event id is freed for the genuine delivery (or what
    reconciliation fetches), which may then still be stored and applied."""
    event.rejected_reason = reason
    event.event_id = f"{event.event_id[:200]}:rejected:{event.id.hex[:16]}"


def retry_delay(attempts: int) -> timedelta:
    return timedelta(seconds=min(2**attempts, 600))


async def _dispatch(
    session: AsyncSession,
    provider: str,
    event: PaymentEvent,
    remote_subscription: RemoteSubscription | None,
) -> bool:
    if event.kind == "ignored":
        return True
    if event.kind == "subscription_changed":
        return remote_subscription is not None and await subscriptions_stripe.sync(
            session, remote_subscription
        )
    if event.kind == "invoice_paid":
        assert event.invoice is not None
        return await subscriptions_stripe.record_paid_invoice(session, event.invoice)
    if event.kind == "payout_account_updated":
        assert event.account is not None
        return await payouts.apply_account(session, event.account)
    if event.kind == "transfer_changed":
        assert event.transfer is not None
        return await payouts.apply_transfer(session, event.transfer, datetime.now(UTC))
    if event.kind == "card_saved":
        assert event.card is not None
        return await saved_cards.save(session, event.card)
    return await _apply_to_payment(session, provider, event)


async def peek(session: AsyncSession, event_row_id: uuid.UUID) -> PaymentEvent | None:
    """The event's meaning, read without a lock (to fetch remote state before locking)."""
    event = await session.get(WebhookEvent, event_row_id)
    if event is None or event.processed_at is not None:
        return None
    return providers.get(event.provider).interpret(event.event_type, event.payload)


async def _apply_to_payment(session: AsyncSession, provider: str, event: PaymentEvent) -> bool:
    payment = await payments.find_for_update(
        session, provider, event.payment_id, event.provider_payment_id, event.provider_order_id
    )
    if payment is None:
        return False
    reason = mismatch(payment, event)
    if reason is not None:
        raise EventRejected(reason)
    if event.kind == "payment_succeeded":
        await payments.succeed(
            session, payment, actor=None, provider_payment_id=event.provider_payment_id
        )
    elif event.kind == "payment_failed":
        await payments.fail(
            session,
            payment,
            actor=None,
            code=event.failure_code,
            message=event.failure_message,
        )
    elif event.kind == "payment_refunded":
        if event.provider_payment_id and payment.provider_payment_id is None:
            payment.provider_payment_id = event.provider_payment_id
        await refunds.apply_provider_total(
            session, payment, event.refunded_total_cents, event.provider_refund_id
        )
    return True


async def list_events(
    session: AsyncSession,
    *,
    state: str | None,
    provider: str | None,
    page: PageRequest,
) -> tuple[list[WebhookEvent], str | None]:
    """Received events, newest first: ``rejected`` (refused, changed nothing), ``pending``
    (waiting to be applied), ``processed`` (applied, or given up on: see ``last_error``)."""
    query = select(WebhookEvent)
    if state == "rejected":
        query = query.where(WebhookEvent.rejected_reason.is_not(None))
    elif state == "pending":
        query = query.where(WebhookEvent.processed_at.is_(None))
    elif state == "processed":
        query = query.where(
            WebhookEvent.processed_at.is_not(None), WebhookEvent.rejected_reason.is_(None)
        )
    if provider is not None:
        query = query.where(WebhookEvent.provider == provider)
    order: list[ColumnElement[Any]] = [
        WebhookEvent.received_at.expression,
        WebhookEvent.id.expression,
    ]
    beyond = after(order, page.key(datetime, uuid.UUID), descending=True)
    if beyond is not None:
        query = query.where(beyond)
    query = query.order_by(*(column.desc() for column in order)).limit(page.limit + 1)
    rows = list(await session.scalars(query))
    return page.of(rows, lambda event: (event.received_at, event.id))
