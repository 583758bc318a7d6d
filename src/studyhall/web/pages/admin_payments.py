"""Admin pages for payments: search every user's payments, open one with its refunds, refund it
(in full or in part) and settle a manual payment as paid or failed.

Each action calls the billing service the ``/api/v1/billing/admin/payments`` routes call, with
the signed-in admin as the actor, so the billing rules (only a captured payment, never more than
is left, the purpose's own checks) and the audit entries are the API's. The forms carry an
idempotency key drawn with the page under the API's scope, so a double submit refunds once.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from studyhall.billing import service as billing
from studyhall.billing.schemas import MarkBody, PaymentRead, RefundCreate, RefundRead
from studyhall.db.rls import SystemSession
from studyhall.kit.errors import NotFound, Unprocessable
from studyhall.kit.paging import PageRequest
from studyhall.web.messages import notice
from studyhall.web.pages.admin import AdminPage, form_amount, form_key, form_text
from studyhall.web.rendering import render

router = APIRouter()

PAGE_SIZE = 25
REFUNDS_SHOWN = 50
Status = Literal["", "pending", "succeeded", "failed", "refunded"]
Provider = Literal["", "manual", "stripe", "paymob"]
Notice = Annotated[str | None, Query(alias="notice", max_length=40)]


@router.get("/admin/payments", include_in_schema=False)
async def admin_payments_page(
    request: Request,
    page: AdminPage,
    session: SystemSession,
    q: Annotated[str | None, Query(max_length=254)] = None,
    status: Status = "",
    provider: Provider = "",
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    """Every payment, the newest first, searched by payer or payment id, status and provider."""
    rows, next_cursor = await billing.search_payments(
        session,
        PageRequest(limit=PAGE_SIZE, cursor=cursor),
        q=(q or "").strip() or None,
        status=status or None,
        provider=provider or None,
    )
    filters = {"q": q or "", "status": status, "provider": provider}
    more = urlencode({**filters, "cursor": next_cursor}) if next_cursor else None
    return render(page, "admin_payments.html", payments=rows, filters=filters, more=more)


async def _payment(session: SystemSession, payment_id: uuid.UUID) -> billing.PaymentListed:
    rows, _ = await billing.search_payments(
        session, PageRequest(limit=1, cursor=None), q=str(payment_id)
    )
    if not rows:
        raise NotFound("No such payment.", code="payment_not_found")
    return rows[0]


@router.get("/admin/payments/{payment_id}", include_in_schema=False)
async def admin_payment_page(
    payment_id: uuid.UUID, page: AdminPage, session: SystemSession, notice_key: Notice = None
) -> Response:
    """One payment: its payer, amounts, refunds, and what may be done with it."""
    found = await _payment(session, payment_id)
    refunds, _ = await billing.refunds_of_payment(
        session, payment_id, PageRequest(limit=REFUNDS_SHOWN, cursor=None)
    )
    payment = found.payment
    context: dict[str, Any] = {
        "found": found,
        "payment": payment,
        "refunds": refunds,
        "refundable": payment.amount_cents - payment.amount_refunded_cents,
        "idempotency_key": str(uuid.uuid4()),
        "notice": notice(page.viewer, notice_key),
    }
    return render(page, "admin_payment.html", **context)


def _back(payment_id: uuid.UUID, key: str) -> RedirectResponse:
    return RedirectResponse(f"/admin/payments/{payment_id}?notice={key}", status_code=303)


@router.post("/admin/payments/{payment_id}/refunds", include_in_schema=False)
async def admin_payment_refund(
    payment_id: uuid.UUID, request: Request, page: AdminPage, session: SystemSession
) -> Response:
    """Refund ``amount`` (empty: everything left) as ``POST .../refunds`` does."""
    assert page.user is not None
    form = await request.form()
    key = form_key(form)
    payment = (await _payment(session, payment_id)).payment
    try:
        asked = RefundCreate(amount_cents=form_amount(form, "amount", payment.currency))
    except ValidationError as exc:
        raise Unprocessable("The amount is too large.", code="invalid_amount") from exc
    admin_id = page.user.id

    async def work() -> RefundRead:
        refund = await billing.request_refund(
            session,
            payment_id,
            amount_cents=asked.amount_cents,
            currency=asked.currency,
            reason=asked.reason,
            actor=admin_id,
        )
        return RefundRead.model_validate(refund)

    await billing.once(
        session,
        key=key,
        user_id=admin_id,
        scope=f"POST /billing/admin/payments/{payment_id}/refunds",
        payload=asked,
        status=201,
        work=work,
    )
    return _back(payment_id, "refund_requested")


@router.post("/admin/payments/{payment_id}/{outcome}", include_in_schema=False)
async def admin_payment_mark(
    payment_id: uuid.UUID,
    outcome: Literal["mark-paid", "mark-failed"],
    request: Request,
    page: AdminPage,
    session: SystemSession,
) -> Response:
    """Settle a pending manual payment, as ``POST .../mark-paid`` / ``mark-failed`` do."""
    assert page.user is not None
    form = await request.form()
    key = form_key(form)
    try:
        body = MarkBody(note=form_text(form, "note") or None)
    except ValidationError as exc:
        raise Unprocessable("The note is too long.", code="note_too_long") from exc
    paid = outcome == "mark-paid"
    admin_id = page.user.id

    async def work() -> PaymentRead:
        payment = await billing.mark_payment(
            session, payment_id, paid=paid, actor=admin_id, note=body.note
        )
        return PaymentRead.model_validate(payment)

    await billing.once(
        session,
        key=key,
        user_id=admin_id,
        scope=f"POST /billing/admin/payments/{payment_id}/{outcome}",
        payload=body,
        status=200,
        work=work,
    )
    return _back(payment_id, "payment_marked_paid" if paid else "payment_marked_failed")
