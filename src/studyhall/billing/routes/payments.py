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
    AdminPaymentPage,
    AdminPaymentRead,
    CreditPackCreate,
    CreditPackPage,
    CreditPackRead,
    CreditPackUpdate,
    MarkBody,
    PaymentPage,
    PaymentRead,
    PaymentStarted,
    PurchaseBody,
    RefundCreate,
    RefundPage,
    RefundRead,
    WebhookAck,
    WebhookEventPage,
    WebhookEventRead,
)
from studyhall.billing.service import credit_packs, payments, refunds, webhooks
from studyhall.billing.service.buying import IdempotencyKey, Intent, once, pay_once, started
from studyhall.billing.service.payments import Started
from studyhall.db.deps import AppDatabase, Session
from studyhall.db.rls import SystemSession, cross_users
from studyhall.kit.errors import PayloadTooLarge
from studyhall.kit.paging import PageQuery

router = APIRouter()


@router.get("/billing/credit-packs", summary="List the credit packs on sale")
async def credit_packs_list(session: Session, page: PageQuery) -> CreditPackPage:
    """The active credit packs, by currency and price. Public: no sign-in needed."""
    packs, next_cursor = await credit_packs.list_packs(session, page, include_inactive=False)
    return CreditPackPage(
        items=[CreditPackRead.model_validate(pack) for pack in packs], next_cursor=next_cursor
    )


@router.post(
    "/billing/credit-packs/{pack_id}/purchase",
    status_code=status.HTTP_201_CREATED,
    response_model=PaymentStarted,
    summary="Buy a credit pack",
)
async def credit_pack_purchase(
    pack_id: uuid.UUID,
    user: CurrentUserDetached,
    database: AppDatabase,
    key: IdempotencyKey,
    body: PurchaseBody | None = None,
) -> Any:
    """Start the payment for a pack; its credits are granted when the payment succeeds. The body
    is optional (it only chooses a provider). With an ``Idempotency-Key`` a retry replays the
    first answer and starts nothing new."""
    chosen = body or PurchaseBody()

    async def prepare(session: AsyncSession) -> Intent:
        payment = await credit_packs.purchase(session, user, pack_id, chosen.provider)
        return Intent(status.HTTP_201_CREATED, payment.id, payment.id)

    async def answer(session: AsyncSession, intent: Intent, opened: Started | None) -> BaseModel:
        assert opened is not None
        return started(opened)

    return await pay_once(
        database,
        user_id=user.id,
        key=key,
        scope=f"POST /billing/credit-packs/{pack_id}/purchase",
        payload=chosen,
        prepare=prepare,
        answer=answer,
    )


@router.get("/billing/payments", summary="List your payments")
async def payments_list(user: CurrentUser, session: Session, page: PageQuery) -> PaymentPage:
    """Your payments, the newest first."""
    rows, next_cursor = await payments.list_for_user(session, user.id, page)
    return PaymentPage(
        items=[PaymentRead.model_validate(row) for row in rows], next_cursor=next_cursor
    )


@router.get("/billing/payments/{payment_id}", summary="Get one payment")
async def payment_get(payment_id: uuid.UUID, user: CurrentUser, session: Session) -> PaymentRead:
    """One of your payments; an admin may read anyone's."""
    if user.role == "admin":
        await cross_users(session)
    return PaymentRead.model_validate(await payments.get_visible(session, payment_id, user))


@router.get("/billing/admin/payments", summary="Search every user's payments (admin)")
async def admin_payments_list(
    admin: Admin,
    session: AdminSession,
    page: PageQuery,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=254,
            description="A payment id, or part of the payer's e-mail or name.",
        ),
    ] = None,
    status: Literal["pending", "succeeded", "failed", "refunded"] | None = None,
    provider: Literal["manual", "stripe", "paymob"] | None = None,
) -> AdminPaymentPage:
    """Every user's payments, the newest first, each with its payer."""
    rows, next_cursor = await payments.search(session, page, q=q, status=status, provider=provider)
    return AdminPaymentPage(
        items=[
            AdminPaymentRead(
                **PaymentRead.model_validate(row.payment).model_dump(),
                payer_name=row.payer_name,
                payer_email=row.payer_email,
            )
            for row in rows
        ],
        next_cursor=next_cursor,
    )


@router.post(
    "/billing/admin/credit-packs",
    status_code=status.HTTP_201_CREATED,
    summary="Create a credit pack (admin)",
)
async def credit_packs_create(
    body: CreditPackCreate, admin: Admin, session: AdminSession
) -> CreditPackRead:
    """A new pack, on sale at once."""
    pack = await credit_packs.create(session, actor=admin.id, **body.model_dump())
    return CreditPackRead.model_validate(pack)


@router.patch("/billing/admin/credit-packs/{pack_id}", summary="Rename or retire a pack (admin)")
async def credit_pack_update(
    pack_id: uuid.UUID, body: CreditPackUpdate, admin: Admin, session: AdminSession
) -> CreditPackRead:
    """Change a pack's name or take it off sale; its price and credits never change."""
    pack = await credit_packs.update(
        session, pack_id, name=body.name, is_active=body.is_active, actor=admin.id
    )
    return CreditPackRead.model_validate(pack)


@router.get("/billing/admin/credit-packs", summary="List every credit pack (admin)")
async def admin_credit_packs_list(
    admin: Admin, session: AdminSession, page: PageQuery
) -> CreditPackPage:
    """Every pack, retired ones included, by currency and price."""
    packs, next_cursor = await credit_packs.list_packs(session, page, include_inactive=True)
    return CreditPackPage(
        items=[CreditPackRead.model_validate(pack) for pack in packs], next_cursor=next_cursor
    )


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


@router.post(
    "/billing/admin/payments/{payment_id}/mark-paid",
    response_model=PaymentRead,
    summary="Record that a manual payment was received (admin)",
)
async def payment_mark_paid(
    payment_id: uuid.UUID,
    admin: Admin,
    session: AdminSession,
    key: IdempotencyKey,
    body: MarkBody | None = None,
) -> Any:
    """Settle a pending manual payment as paid: what it pays for is granted in the same
    transaction. A second mark is 409 ``payment_state_conflict`` (a replayed key answers as the
    first). The body is optional (a note)."""
    return await _mark(session, payment_id, admin.id, body or MarkBody(), key, paid=True)


@router.post(
    "/billing/admin/payments/{payment_id}/mark-failed",
    response_model=PaymentRead,
    summary="Record that a manual payment will not arrive (admin)",
)
async def payment_mark_failed(
    payment_id: uuid.UUID,
    admin: Admin,
    session: AdminSession,
    key: IdempotencyKey,
    body: MarkBody | None = None,
) -> Any:
    """Fail a pending manual payment, releasing what it was holding. The body is optional (a
    note shown to the payer)."""
    return await _mark(session, payment_id, admin.id, body or MarkBody(), key, paid=False)


@router.post(
    "/billing/admin/payments/{payment_id}/refunds",
    status_code=status.HTTP_201_CREATED,
    response_model=RefundRead,
    summary="Refund a payment, in full or in part (admin)",
)
async def payment_refunds_create(
    payment_id: uuid.UUID,
    admin: Admin,
    session: AdminSession,
    key: IdempotencyKey,
    body: RefundCreate | None = None,
) -> Any:
    """Refund what is still refundable (no body), or ``amount_cents`` of it. A provider's refund
    is executed by a job; the manual provider settles at once."""
    asked = body or RefundCreate()

    async def work() -> RefundRead:
        refund = await refunds.request(
            session,
            payment_id,
            amount_cents=asked.amount_cents,
            currency=asked.currency,
            reason=asked.reason,
            actor=admin.id,
        )
        return RefundRead.model_validate(refund)

    return await once(
        session,
        key=key,
        user_id=admin.id,
        scope=f"POST /billing/admin/payments/{payment_id}/refunds",
        payload=asked,
        status=status.HTTP_201_CREATED,
        work=work,
    )


@router.get(
    "/billing/admin/payments/{payment_id}/refunds", summary="List a payment's refunds (admin)"
)
async def payment_refunds_list(
    payment_id: uuid.UUID, admin: Admin, session: AdminSession, page: PageQuery
) -> RefundPage:
    """The payment's refunds, the oldest first, whoever started them."""
    rows, next_cursor = await refunds.list_for_payment(session, payment_id, page)
    return RefundPage(items=[RefundRead.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.post(
    "/billing/webhooks/{provider}",
    summary="Receive a payment provider's webhook",
    response_model=WebhookAck,
    response_model_exclude_none=True,
)
async def provider_webhook_receive(
    provider: str, request: Request, session: SystemSession
) -> WebhookAck:
    """Public, authenticated by the provider's signature. The event is stored and acknowledged;
    a job applies it once, however often it is delivered."""
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


@router.get("/billing/admin/webhook-events", summary="List received provider events (admin)")
async def webhook_events_list(
    admin: Admin,
    session: AdminSession,
    page: PageQuery,
    state: Literal["rejected", "pending", "processed"] | None = None,
    provider: Literal["stripe", "paymob"] | None = None,
) -> WebhookEventPage:
    """Provider events as received, the newest first; ``state=rejected`` lists the refused ones
    (each with its reason), ``pending`` those waiting to be applied."""
    rows, next_cursor = await webhooks.list_events(
        session, state=state, provider=provider, page=page
    )
    return WebhookEventPage(
        items=[WebhookEventRead.model_validate(row) for row in rows], next_cursor=next_cursor
    )
