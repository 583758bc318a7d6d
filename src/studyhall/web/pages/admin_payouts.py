"""Admin page for tutors' payouts: every statement (the ones due first to hand), closing a
period, and marking a due statement paid when the tutor was paid outside Stripe.

Closing calls ``billing.service.close_payout_period`` as ``POST /api/v1/billing/admin/payouts/
close`` does; marking paid calls ``mark_payout_paid`` (only a due statement, audited) under an
idempotency key drawn with the page and the API's scope, so a double submit pays once.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from studyhall.billing import service as billing
from studyhall.billing.schemas import PayoutStatementRead
from studyhall.db.rls import SystemSession
from studyhall.kit.errors import Unprocessable
from studyhall.kit.paging import PageRequest
from studyhall.web.messages import notice
from studyhall.web.pages.admin import AdminPage, form_key, form_text
from studyhall.web.rendering import render

router = APIRouter()

PAGE_SIZE = 25
Status = Literal["", "due", "transferring", "paid", "reversed", "carried"]
Notice = Annotated[str | None, Query(alias="notice", max_length=40)]


@router.get("/admin/payouts", include_in_schema=False)
async def admin_payouts_page(
    page: AdminPage,
    session: SystemSession,
    status: Status = "due",
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    notice_key: Notice = None,
) -> Response:
    rows, next_cursor = await billing.all_payout_statements(
        session, PageRequest(limit=PAGE_SIZE, cursor=cursor), status=status or None
    )
    return render(
        page,
        "admin_payouts.html",
        statements=rows,
        status=status,
        idempotency_key=str(uuid.uuid4()),
        more=urlencode({"status": status, "cursor": next_cursor}) if next_cursor else None,
        notice=notice(page.viewer, notice_key),
    )


@router.post("/admin/payouts/close", include_in_schema=False)
async def admin_payouts_close(
    request: Request, page: AdminPage, session: SystemSession
) -> Response:
    """The period ends at the start of the chosen day in the admin's time zone."""
    try:
        day = date.fromisoformat(form_text(await request.form(), "period_end"))
    except ValueError as exc:
        raise Unprocessable("Choose the day the period ends.", code="period_end_required") from exc
    period_end = datetime.combine(day, time(0), tzinfo=page.viewer.zone)
    made = await billing.close_payout_period(session, period_end, datetime.now(UTC))
    key = "period_closed" if made else "period_closed_empty"
    return RedirectResponse(f"/admin/payouts?notice={key}", status_code=303)


@router.post("/admin/payouts/{statement_id}/mark-paid", include_in_schema=False)
async def admin_payout_mark_paid(
    statement_id: uuid.UUID, request: Request, page: AdminPage, session: SystemSession
) -> Response:
    assert page.user is not None
    key = form_key(await request.form())
    admin_id = page.user.id

    async def work() -> PayoutStatementRead:
        statement = await billing.mark_payout_paid(
            session, admin_id, statement_id, datetime.now(UTC)
        )
        return PayoutStatementRead.model_validate(statement)

    await billing.once(
        session,
        key=key,
        user_id=admin_id,
        scope=f"POST /billing/admin/payouts/statements/{statement_id}/mark-paid",
        payload={},
        status=200,
        work=work,
    )
    return RedirectResponse("/admin/payouts?notice=statement_paid", status_code=303)
