"""Buying and refunding as one call each, shared by the API and the web pages: checkout in
short transactions around the payment provider, and a refund that goes back through the payment
that paid (or, with no money to move, through courses' rules alone)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi import status
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import JSONResponse

from studyhall.accounts.models import User
from studyhall.billing import service as billing
from studyhall.courses.models import Purchase
from studyhall.courses.schemas import PaidCheckoutRead, PurchaseRead
from studyhall.courses.service.checkout import checkout, refund_paid
from studyhall.courses.service.purchases import get_purchase, refund_purchase
from studyhall.db.engine import Database


async def buy_and_pay(
    database: Database,
    user: User,
    product_id: uuid.UUID,
    payload: billing.PurchaseBody,
    key: str | None,
) -> JSONResponse:
    """A free product grants access at once; a paid one writes a pending purchase and opens its
    payment. The JSON answer (a ``PaidCheckoutRead``) is stored for the idempotency key, so a
    retry with the same key gets the byte-identical first answer."""

    async def prepare(session: AsyncSession) -> billing.Intent:
        purchase, created, payment = await checkout(session, user, product_id, payload.provider)
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return billing.Intent(code, purchase.id, None if payment is None else payment.id)

    async def answer(
        session: AsyncSession, intent: billing.Intent, opened: billing.Started | None
    ) -> PaidCheckoutRead:
        purchase = await get_purchase(session, user, intent.subject_id)
        return PaidCheckoutRead(
            purchase=PurchaseRead.model_validate(purchase),
            payment_required=purchase.status == "pending",
            payment=None if opened is None else billing.started(opened),
        )

    return await billing.pay_once(
        database,
        user_id=user.id,
        key=key,
        scope=f"POST /products/{product_id}/checkout",
        payload=payload,
        prepare=prepare,
        answer=answer,
    )


async def refund(
    session: AsyncSession, user: User, purchase_id: uuid.UUID, window: timedelta
) -> Purchase:
    """Its buyer or an admin, within ``window`` and before any course of the product is
    completed. The caller's transaction reads across users (billing's rows, an admin's refund of
    someone else's purchase); ownership is checked here."""
    purchase = await get_purchase(session, user, purchase_id)
    if purchase.status == "paid" and purchase.payment_id is not None:
        return await refund_paid(session, purchase, user)
    # Free, unpaid or already refunded: courses' rules alone, no money to move.
    return await refund_purchase(session, purchase_id, user, window=window)
