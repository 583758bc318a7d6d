"""Refunds, full and partial, whoever starts them: an admin, a cancellation policy, a course refund,
or the provider's own dashboard (learned from a webhook).

A refund we start is a ``pending`` row first, counted against the refundable amount at once, so two
concurrent refunds of one payment cannot together exceed it. The provider is called by a job, never
while the payment row is locked; the manual provider has nothing to call and settles inline.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.audit import service as audit
from studyhall.billing import providers
from studyhall.billing.events import PaymentRefunded
from studyhall.billing.models import Payment, Refund
from studyhall.billing.providers.base import RemoteRefund
from studyhall.billing.service import payments, purposes
from studyhall.db.rls import cross_users
from studyhall.jobs import backoff, enqueue, queue, runtime
from studyhall.kit.errors import Conflict, NotFound, Unprocessable
from studyhall.kit.events import emit
from studyhall.kit.paging import PageRequest, after


@queue.task(name="studyhall.billing.execute_refund", queue="billing", retry=backoff(6, 3))
async def execute_refund(refund_id: str) -> None:
    """Ask the provider to refund one pending refund of ours, then record its answer."""
    database = runtime().database
    async with database.transaction() as session:
        await cross_users(session)
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
    async with database.transaction() as session:
        await cross_users(session)
        await complete(session, uuid.UUID(refund_id), remote)


async def _pending_cents(session: AsyncSession, payment_id: uuid.UUID) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(Refund.amount_cents), 0)).where(
            Refund.payment_id == payment_id, Refund.status == "pending"
        )
    )
    return int(total or 0)


async def request(
    session: AsyncSession,
    payment_id: uuid.UUID,
    *,
    amount_cents: int | None,
    currency: str | None,
    reason: str,
    actor: uuid.UUID | None,
) -> Refund:
    """``amount_cents`` None refunds everything still refundable."""
    payment = await payments.lock(session, payment_id)
    if payment.status == "refunded":
        raise Conflict("This payment has already been refunded in full.", code="already_refunded")
    if payment.status != "succeeded":
        raise Conflict(
            f"Only a captured payment can be refunded; this one is {payment.status}.",
            code="payment_not_captured",
        )
    if currency is not None and currency != payment.currency:
        raise Unprocessable(
            f"The payment is in {payment.currency}, not {currency}.", code="currency_mismatch"
        )
    refundable = (
        payment.amount_cents
        - payment.amount_refunded_cents
        - await _pending_cents(session, payment.id)
    )
    amount = refundable if amount_cents is None else amount_cents
    if amount <= 0:
        raise Unprocessable(
            "The refund amount must be positive, and something must be left to refund.",
            code="invalid_amount",
        )
    if amount > refundable:
        raise Unprocessable(
            f"At most {refundable} can still be refunded on this payment.",
            code="refund_exceeds_captured",
            refundable_cents=refundable,
        )
    await purposes.get(payment.purpose).before_refund(session, payment, amount)
    refund = Refund(
        payment_id=payment.id,
        amount_cents=amount,
        currency=payment.currency,
        reason=reason,
        provider=payment.provider,
        status="pending",
        requested_by_user_id=actor,
    )
    session.add(refund)
    await session.flush()
    await audit.record(
        session, actor, "refund.request", "refund", refund.id, {"amount_cents": amount}
    )
    if payment.provider == "manual":
        remote = await providers.get("manual").refund(refund.id, "", amount)
        await _settle(session, payment, refund, remote)
    else:
        await enqueue(session, execute_refund, refund_id=str(refund.id))
    return refund


async def complete(session: AsyncSession, refund_id: uuid.UUID, remote: RemoteRefund) -> None:
    """Record what the provider answered for one of our refunds (a job calls this)."""
    payment_id = await session.scalar(select(Refund.payment_id).where(Refund.id == refund_id))
    if payment_id is None:
        raise NotFound("No such refund.", code="refund_not_found")
    payment = await payments.lock(session, payment_id)
    refund = await session.get(Refund, refund_id, populate_existing=True)
    assert refund is not None
    await _settle(session, payment, refund, remote)


async def _settle(
    session: AsyncSession, payment: Payment, refund: Refund, remote: RemoteRefund
) -> None:
    if refund.status != "pending":
        return
    if remote.provider_refund_id and refund.provider_refund_id is None:
        refund.provider_refund_id = remote.provider_refund_id
    if remote.status == "pending":
        await session.flush()
        return
    if remote.status == "failed":
        refund.status = "failed"
        await session.flush()
        await audit.record(session, None, "refund.fail", "refund", refund.id, None)
        return
    await _succeed(session, payment, refund)


async def _succeed(session: AsyncSession, payment: Payment, refund: Refund) -> None:
    refund.status = "succeeded"
    payment.amount_refunded_cents += refund.amount_cents
    if payment.amount_refunded_cents == payment.amount_cents:
        payment.status = "refunded"
    await session.flush()
    await audit.record(
        session,
        refund.requested_by_user_id,
        "refund.succeed",
        "payment",
        payment.id,
        {"refund_id": str(refund.id), "amount_refunded_cents": payment.amount_refunded_cents},
    )
    await purposes.get(payment.purpose).on_refunded(session, payment, refund.amount_cents)
    await emit(
        session,
        PaymentRefunded(
            payment_id=payment.id,
            user_id=payment.user_id,
            purpose=payment.purpose,
            refunded_cents=refund.amount_cents,
            total_refunded_cents=payment.amount_refunded_cents,
            currency=payment.currency,
        ),
    )


async def apply_provider_total(
    session: AsyncSession, payment: Payment, total_cents: int, provider_refund_id: str | None
) -> None:
    """The provider says ``total_cents`` has been refunded so far (``payment`` is locked).

    A refund proves the payment was captured, so a refund event that overtakes the success event
    settles the success first. Our own pending refunds are matched first; whatever remains was
    refunded outside Studyhall and is recorded as a ``provider`` refund.
    """
    if payment.status in ("pending", "failed"):
        await payments.succeed(session, payment, actor=None)
    remaining = min(total_cents, payment.amount_cents) - payment.amount_refunded_cents
    if remaining <= 0:
        return
    pending = await session.scalars(
        select(Refund)
        .where(Refund.payment_id == payment.id, Refund.status == "pending")
        .order_by(Refund.created_at, Refund.id)
    )
    for refund in list(pending):
        if refund.amount_cents <= remaining:
            remaining -= refund.amount_cents
            await _succeed(session, payment, refund)
    if remaining <= 0:
        return
    known = provider_refund_id is not None and await session.scalar(
        select(Refund.id).where(
            Refund.provider == payment.provider, Refund.provider_refund_id == provider_refund_id
        )
    )
    refund = Refund(
        payment_id=payment.id,
        amount_cents=remaining,
        currency=payment.currency,
        reason="provider",
        provider=payment.provider,
        provider_refund_id=None if known else provider_refund_id,
        status="pending",
    )
    session.add(refund)
    await session.flush()
    await _succeed(session, payment, refund)


async def list_for_payment(
    session: AsyncSession, payment_id: uuid.UUID, page: PageRequest
) -> tuple[list[Refund], str | None]:
    """One page of a payment's refunds, the oldest first."""
    order: list[ColumnElement[Any]] = [Refund.created_at.expression, Refund.id.expression]
    query = select(Refund).where(Refund.payment_id == payment_id)
    beyond = after(order, page.key(datetime, uuid.UUID))
    if beyond is not None:
        query = query.where(beyond)
    rows = list(await session.scalars(query.order_by(*order).limit(page.limit + 1)))
    return page.of(rows, lambda refund: (refund.created_at, refund.id))
