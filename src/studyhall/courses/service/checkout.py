"""Course purchases paid through billing: the ``course_purchase`` payment purpose.

Courses owns the purchase and its access rules; billing owns the money. A paid checkout writes the
pending purchase and its payment in one transaction; the payment's status changes drive the
purchase through ``complete_purchase`` / ``refund_purchase``, with the payment row locked, so
payment, purchase and access commit together. ``reactions.py`` registers the purpose with billing.

A pending purchase may collect several payment attempts (a declined card, a retried checkout).
Only the first that succeeds pays for it; any later success is refunded in full at once, so a
buyer is never charged twice for one purchase.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import User
from studyhall.billing import service as billing
from studyhall.billing.models import Payment, Refund
from studyhall.courses.models import Purchase
from studyhall.courses.service.purchases import (
    check_refundable,
    complete_purchase,
    get_purchase,
    lock_purchase,
    refund_purchase,
    refund_window,
)
from studyhall.courses.service.purchases import checkout as write_purchase
from studyhall.kit.errors import Conflict

PURPOSE = "course_purchase"


async def checkout(
    session: AsyncSession, user: User, product_id: uuid.UUID, provider: str | None
) -> tuple[Purchase, bool, Payment | None]:
    """The purchase (pending, or paid at once for a free product), then a pending payment for a
    purchase that awaits one.

    Returns the purchase, whether it was created now, and the pending payment (None for a free
    or already paid product); billing's ``pay_once`` opens it at the provider once this
    transaction has committed.
    """
    purchase, created = await write_purchase(session, user, product_id)
    if purchase.status != "pending":
        return purchase, created, None
    # Refused here, the whole transaction rolls back: no purchase is left behind either.
    provider_name = billing.choose_provider(provider)
    name = purchase.product_details.get("name")
    payment = await billing.prepare_payment(
        session,
        user=user,
        purpose=PURPOSE,
        purpose_id=purchase.id,
        amount_cents=purchase.price_paid_cents,
        currency=purchase.currency,
        description=f"Course purchase: {name}" if isinstance(name, str) else "Course purchase",
        provider=provider_name,
    )
    return purchase, created, payment


async def refund_paid(session: AsyncSession, purchase: Purchase, actor: User) -> Purchase:
    """Refund the payment that paid ``purchase`` in full; the caller has checked ``actor`` may,
    and its transaction reads across users (the refund row and the payment are billing's).

    The manual provider settles at once (purchase refunded, access revoked on return); a remote
    provider's refund is executed by a job and the purchase follows when the provider confirms.
    """
    assert purchase.payment_id is not None
    in_flight = await session.scalar(
        select(Refund.id).where(
            Refund.payment_id == purchase.payment_id, Refund.status == "pending"
        )
    )
    if in_flight is not None:
        raise Conflict(
            "A refund of this purchase is already on its way to the payment provider.",
            code="refund_in_progress",
        )
    await billing.request_refund(
        session,
        purchase.payment_id,
        amount_cents=None,
        currency=None,
        reason="course_refund",
        actor=actor.id,
    )
    return await get_purchase(session, actor, purchase.id)


async def on_payment_succeeded(session: AsyncSession, payment: Payment) -> None:
    try:
        purchase: Purchase | None = await complete_purchase(
            session,
            payment.purpose_id,
            payment.provider_payment_id,
            provider=payment.provider,
            payment_id=payment.id,
        )
    except Conflict as exc:
        if exc.code != "purchase_refunded":
            raise
        purchase = None
    if purchase is None or purchase.payment_id != payment.id:
        # Another attempt already paid (or the purchase was refunded): give this money back.
        await billing.request_refund(
            session, payment.id, amount_cents=None, currency=None, reason="duplicate", actor=None
        )


async def _pays_for(session: AsyncSession, payment: Payment) -> bool:
    purchase = await lock_purchase(session, payment.purpose_id)
    return purchase.payment_id == payment.id


async def before_payment_refund(session: AsyncSession, payment: Payment, amount_cents: int) -> None:
    # A duplicate attempt is always refundable; the purchase's own payment follows courses' rules
    # (paid, inside the window, no course of the product completed), refused with their 409.
    if await _pays_for(session, payment):
        await check_refundable(session, payment.purpose_id, window=refund_window())


async def on_payment_refunded(session: AsyncSession, payment: Payment, amount_cents: int) -> None:
    # A partial refund is a price adjustment: access stays. Once the payment is refunded in full,
    # access goes, whatever started the refund (a provider-side refund cannot be refused).
    if payment.status == "refunded" and await _pays_for(session, payment):
        await refund_purchase(session, payment.purpose_id, None, enforce_policy=False)
