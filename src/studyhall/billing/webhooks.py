"""Webhooks: verify, store, acknowledge; a job applies each stored event exactly once.

The endpoint does no business work: an event is verified against the raw body, inserted into
``webhook_events`` (UNIQUE (provider, event_id) drops redeliveries) and its job is enqueued in the
same transaction. The job locks the event row, applies it, and stamps ``processed_at``; a second
run finds the stamp and stops. Events are order-independent because every effect is monotonic (a
success after a refund is a no-op, a refund total never decreases), and an event about a payment
we have not committed yet is retried later instead of being dropped.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.billing import (
    payments,
    payouts,
    providers,
    refunds,
    saved_cards,
    subscriptions_stripe,
)
from studyhall.billing.models import WebhookEvent
from studyhall.billing.providers.base import PaymentEvent, RemoteSubscription, VerifiedEvent
from studyhall.jobs import enqueue
from studyhall.kit.errors import NotFound

MAX_BODY_BYTES = 512 * 1024
MAX_ATTEMPTS = 8


async def ingest(
    session: AsyncSession,
    provider_name: str,
    body: bytes,
    headers: Mapping[str, str],
    query: Mapping[str, str],
) -> tuple[uuid.UUID | None, str]:
    """Returns the stored row id (None for a redelivery) and the provider's event id."""
    if provider_name not in ("stripe", "paymob"):
        raise NotFound(f"No webhooks are accepted for {provider_name!r}.", code="unknown_provider")
    verified = providers.get(provider_name).verify_webhook(body, headers, query)
    row_id = await _store(session, provider_name, verified)
    if row_id is not None:
        from studyhall.billing.jobs import apply_webhook_event

        await enqueue(session, apply_webhook_event, event_row_id=str(row_id))
    return row_id, verified.event_id


async def _store(
    session: AsyncSession, provider_name: str, verified: VerifiedEvent
) -> uuid.UUID | None:
    """The row id, or None when this event id is already stored."""
    return await session.scalar(
        pg_insert(WebhookEvent)
        .values(
            provider=provider_name,
            event_id=verified.event_id,
            event_type=verified.event_type,
            payload=verified.payload,
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
    if not await _dispatch(session, event.provider, interpreted, remote_subscription):
        event.last_error = "the payment or order this event names is not known (yet)"
        if event.attempts < MAX_ATTEMPTS:
            return False
    event.processed_at = datetime.now(UTC)
    await session.flush()
    return True


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
        session, provider, event.payment_id, event.provider_payment_id
    )
    if payment is None:
        return False
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
