"""HTTP for buying: checkout, my purchase history, one purchase, and refunds.

Both money-moving POSTs follow the house contract: ``Idempotency-Key`` is optional (a retry with
the same key replays the first answer byte for byte; without one each call is a new attempt), and
a body is sent only when there is something to say (checkout's ``provider``)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status

from studyhall.accounts.deps import CurrentUser, CurrentUserDetached
from studyhall.billing import service as billing
from studyhall.courses.schemas import PaidCheckoutRead, PurchasePage, PurchaseRead
from studyhall.courses.service import buying, purchases
from studyhall.db.deps import AppDatabase, Session
from studyhall.db.rls import SystemSession, cross_users
from studyhall.kit import idempotency
from studyhall.kit.paging import PageQuery

router = APIRouter()
CREATED = status.HTTP_201_CREATED
OptionalIdempotencyKey = Annotated[str | None, Depends(idempotency.idempotency_key_header)]


@router.post(
    "/products/{product_id}/checkout",
    status_code=CREATED,
    response_model=PaidCheckoutRead,
    summary="Buy a product",
)
async def product_checkout(
    product_id: uuid.UUID,
    user: CurrentUserDetached,
    database: AppDatabase,
    key: OptionalIdempotencyKey,
    body: billing.PurchaseBody | None = None,
) -> Any:
    """A free product grants access at once; a paid one writes a pending purchase and starts
    its payment. No body is needed; send ``{"provider": ...}`` to choose the payment provider.
    201 when the purchase is created, 200 with the pending purchase a previous checkout left.
    With an ``Idempotency-Key`` a retry replays the first answer instead of starting another
    payment attempt; without one each paid checkout is a new attempt (a second success is
    refunded at once)."""
    return await buying.buy_and_pay(database, user, product_id, body or billing.PurchaseBody(), key)


@router.get("/me/purchases", summary="List my purchases")
async def my_purchases_list(user: CurrentUser, session: Session, page: PageQuery) -> PurchasePage:
    """My purchase history: paid and not refunded, newest first."""
    rows, cursor = await purchases.purchase_history(session, user.id, page)
    return PurchasePage(items=[PurchaseRead.model_validate(p) for p in rows], next_cursor=cursor)


@router.get("/purchases/{purchase_id}", summary="Get a purchase")
async def purchase_get(purchase_id: uuid.UUID, user: CurrentUser, session: Session) -> PurchaseRead:
    """Its buyer, or an admin (404 ``purchase_not_found`` for anyone else)."""
    if user.role == "admin":
        await cross_users(session)
    return PurchaseRead.model_validate(await purchases.get_purchase(session, user, purchase_id))


@router.post(
    "/purchases/{purchase_id}/refund", summary="Refund a purchase", response_model=PurchaseRead
)
async def purchase_refund(
    purchase_id: uuid.UUID,
    user: CurrentUser,
    session: SystemSession,
    request: Request,
    key: OptionalIdempotencyKey,
) -> Any:
    """Its buyer or an admin, within the refund window and before any course of the product is
    completed (409 otherwise). Money paid goes back through the payment that paid it, and access
    follows; a free purchase loses its access at once. No body. With an ``Idempotency-Key`` a
    retry replays the first answer; without one a repeat meets the refund already made."""

    # The refund writes billing's rows and, for an admin, someone else's purchase: this request
    # acts across users from its start, and ownership is checked explicitly by the service.
    async def work() -> PurchaseRead:
        days = request.app.state.settings.course_refund_window_days
        refunded = await buying.refund(session, user, purchase_id, timedelta(days=days))
        return PurchaseRead.model_validate(refunded)

    return await billing.once(
        session,
        key=key,
        user_id=user.id,
        scope=f"POST /purchases/{purchase_id}/refund",
        payload={},
        status=status.HTTP_200_OK,
        work=work,
    )
