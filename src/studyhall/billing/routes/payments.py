"""Payments, credit packs, refunds and provider webhooks over HTTP."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.deps import Admin, CurrentUser, CurrentUserDetached
from studyhall.billing.routes.deps import AdminSession
from studyhall.billing.schemas import (
    CreditPackCreate,
    CreditPackRead,
    CreditPackUpdate,
    MarkBody,
    PaymentRead,
    PaymentStarted,
    PurchaseBody,
    RefundCreate,
    RefundRead,
    WebhookAck,
    WebhookEventRead,
)
from studyhall.billing.service import credit_packs, payments, refunds, webhooks
from studyhall.billing.service.buying import IdempotencyKey, Intent, once, pay_once, started
from studyhall.billing.service.payments import Started
from studyhall.db.deps import AppDatabase, Session
from studyhall.db.rls import cross_users
from studyhall.kit.errors import PayloadTooLarge
from studyhall.kit.inputs import MAX_OFFSET

router = APIRouter()


@router.get("/billing/credit-packs", summary="Credit packs on sale (public)")
async def list_credit_packs(session: Session) -> list[CreditPackRead]:
    packs = await credit_packs.list_packs(session, include_inactive=False)
    return [CreditPackRead.model_validate(pack) for pack in packs]


@router.post(
    "/billing/credit-packs/{pack_id}/purchase",
    status_code=status.HTTP_201_CREATED,
    response_model=PaymentStarted,
)
async def purchase_credit_pack(
    pack_id: uuid.UUID,
    body: PurchaseBody,
    user: CurrentUserDetached,
    database: AppDatabase,
    key: IdempotencyKey,
) -> Any:
    async def prepare(session: AsyncSession) -> Intent:
        payment = await credit_packs.purchase(session, user, pack_id, body.provider)
        return Intent(status.HTTP_201_CREATED, payment.id, payment.id)

    async def answer(session: AsyncSession, intent: Intent, opened: Started | None) -> BaseModel:
        assert opened is not None
        return started(opened)

    return await pay_once(
        database,
        user_id=user.id,
        key=key,
        scope=f"POST /billing/credit-packs/{pack_id}/purchase",
        payload=body,
        prepare=prepare,
        answer=answer,
    )


@router.get("/billing/payments")
async def list_my_payments(
    user: CurrentUser,
    session: Session,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[PaymentRead]:
    rows = await payments.list_for_user(session, user.id, limit=limit, offset=offset)
    return [PaymentRead.model_validate(row) for row in rows]


@router.get("/billing/payments/{payment_id}")
async def get_payment(payment_id: uuid.UUID, user: CurrentUser, session: Session) -> PaymentRead:
    if user.role == "admin":
        await cross_users(session)
    return PaymentRead.model_validate(await payments.get_visible(session, payment_id, user))


@router.post("/billing/admin/credit-packs", status_code=status.HTTP_201_CREATED)
async def create_credit_pack(
    body: CreditPackCreate, admin: Admin, session: AdminSession
) -> CreditPackRead:
    pack = await credit_packs.create(session, actor=admin.id, **body.model_dump())
    return CreditPackRead.model_validate(pack)


@router.patch("/billing/admin/credit-packs/{pack_id}")
async def update_credit_pack(
    pack_id: uuid.UUID, body: CreditPackUpdate, admin: Admin, session: AdminSession
) -> CreditPackRead:
    pack = await credit_packs.update(
        session, pack_id, name=body.name, is_active=body.is_active, actor=admin.id
    )
    return CreditPackRead.model_validate(pack)


@router.get("/billing/admin/credit-packs")
async def list_all_credit_packs(admin: Admin, session: AdminSession) -> list[CreditPackRead]:
    packs = await credit_packs.list_packs(session, include_inactive=True)
    return [CreditPackRead.model_validate(pack) for pack in packs]


async def _mark(
    session: AsyncSession,
    payment_id: uuid.UUID,
    admin_id: uuid.UUID,
    body: MarkBody,
    key: str | None,
    *,
    paid: bool,
) -> JSONResponse:
    async def work() -> PaymentRead:
        payment = await payments.admin_mark(
            session, payment_id, paid=paid, actor=admin_id, note=body.note
        )
        return PaymentRead.model_validate(payment)

    return await once(
        session,
        key=key,
        user_id=admin_id,
        scope=f"POST /billing/admin/payments/{payment_id}/mark-{'paid' if paid else 'failed'}",
        payload=body,
        status=status.HTTP_200_OK,
        work=work,
    )


@router.post("/billing/admin/payments/{payment_id}/mark-paid", response_model=PaymentRead)
async def mark_paid(
    payment_id: uuid.UUID,
    body: MarkBody,
    admin: Admin,
    session: AdminSession,
    key: IdempotencyKey,
) -> Any:
    return await _mark(session, payment_id, admin.id, body, key, paid=True)


@router.post("/billing/admin/payments/{payment_id}/mark-failed", response_model=PaymentRead)
async def mark_failed(
    payment_id: uuid.UUID,
    body: MarkBody,
    admin: Admin,
    session: AdminSession,
    key: IdempotencyKey,
) -> Any:
    return await _mark(session, payment_id, admin.id, body, key, paid=False)


@router.post(
    "/billing/admin/payments/{payment_id}/refunds",
    status_code=status.HTTP_201_CREATED,
    response_model=RefundRead,
)
async def refund_payment(
    payment_id: uuid.UUID,
    body: RefundCreate,
    admin: Admin,
    session: AdminSession,
    key: IdempotencyKey,
) -> Any:
    async def work() -> RefundRead:
        refund = await refunds.request(
            session,
            payment_id,
            amount_cents=body.amount_cents,
            currency=body.currency,
            reason=body.reason,
            actor=admin.id,
        )
        return RefundRead.model_validate(refund)

    return await once(
        session,
        key=key,
        user_id=admin.id,
        scope=f"POST /billing/admin/payments/{payment_id}/refunds",
        payload=body,
        status=status.HTTP_201_CREATED,
        work=work,
    )


@router.get("/billing/admin/payments/{payment_id}/refunds")
async def list_refunds(
    payment_id: uuid.UUID, admin: Admin, session: AdminSession
) -> list[RefundRead]:
    return [
        RefundRead.model_validate(r) for r in await refunds.list_for_payment(session, payment_id)
    ]


@router.post(
    "/billing/webhooks/{provider}",
    summary="Provider webhooks (public; authenticated by the provider's signature)",
    response_model=WebhookAck,
    response_model_exclude_none=True,
)
async def receive_webhook(provider: str, request: Request, session: Session) -> WebhookAck:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > webhooks.MAX_BODY_BYTES:
        raise PayloadTooLarge("The webhook body is too large.", code="webhook_too_large")
    body = await request.body()
    if len(body) > webhooks.MAX_BODY_BYTES:
        raise PayloadTooLarge("The webhook body is too large.", code="webhook_too_large")
    received = await webhooks.ingest(session, provider, body, request.headers, request.query_params)
    return WebhookAck(
        received=True,
        duplicate=received.row_id is None,
        event_id=received.event_id,
        rejected=True if received.rejected_reason is not None else None,
        reason=received.rejected_reason,
    )


@router.get(
    "/billing/admin/webhook-events",
    summary="Provider events as received, newest first; state=rejected lists the refused ones",
)
async def list_webhook_events(
    admin: Admin,
    session: AdminSession,
    state: Literal["rejected", "pending", "processed"] | None = None,
    provider: Literal["stripe", "paymob"] | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[WebhookEventRead]:
    rows = await webhooks.list_events(
        session, state=state, provider=provider, limit=limit, offset=offset
    )
    return [WebhookEventRead.model_validate(row) for row in rows]
