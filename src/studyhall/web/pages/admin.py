"""Admin pages: find users (a student with their learner totals), suspend and restore them,
verify or refuse tutors.

Each action calls the accounts service the ``/api/v1/admin`` routes call, with the signed-in
admin as the actor (so it is audited the same way); anyone else gets the API's ``role_required``
refusal (403).
"""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from babel.numbers import get_currency_precision
from fastapi import APIRouter, Depends, Query, Request
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from studyhall.accounts import service as accounts
from studyhall.accounts.models import User
from studyhall.accounts.schemas import Suspension
from studyhall.db.deps import Session
from studyhall.db.rls import SystemSession
from studyhall.kit.errors import Forbidden, NotFound, Unprocessable
from studyhall.scheduling import service as scheduling
from studyhall.web.deps import MemberPage
from studyhall.web.messages import notice
from studyhall.web.pages.accounts import safe_next
from studyhall.web.rendering import Visit, render

router = APIRouter()

PAGE_SIZE = 20


async def admin_only(page: MemberPage) -> Visit:
    """The same role rule as the API's admin routes."""
    assert page.user is not None
    if page.user.role != "admin":
        raise Forbidden("This needs the admin role.", code="role_required")
    return page


AdminPage = Annotated[Visit, Depends(admin_only)]
# "" is the search form's "any".
Role = Literal["", "student", "tutor", "admin"]
Status = Literal["", "active", "suspended", "deleted"]


def form_text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def form_key(form: FormData) -> str:
    """The idempotency key drawn into a money-moving form: a double submit acts once."""
    try:
        return str(uuid.UUID(form_text(form, "idempotency_key")))
    except ValueError as exc:
        raise Unprocessable("The form is damaged; open the page again.") from exc


def form_amount(form: FormData, name: str, currency: str) -> int | None:
    """An amount typed in the currency's units ("12.50"), in minor units; empty is None."""
    typed = form_text(form, name).replace(",", ".")
    if not typed:
        return None
    try:
        amount = Decimal(typed)
    except InvalidOperation as exc:
        raise _bad_amount() from exc
    cents = amount.scaleb(get_currency_precision(currency.upper()))
    if not amount.is_finite() or cents != cents.to_integral_value() or cents <= 0:
        raise _bad_amount()
    return int(cents)


def typed_amount(cents: int, currency: str) -> str:
    """Minor units as an admin types them ("12.50"), the inverse of ``form_amount``."""
    return str(Decimal(cents).scaleb(-get_currency_precision(currency.upper())))


def _bad_amount() -> Unprocessable:
    return Unprocessable(
        "Enter a positive amount with no more decimals than the currency has.",
        code="amount_invalid",
    )


def _back(form: FormData, notice_key: str) -> RedirectResponse:
    """Back to the list the admin acted from (its search kept), with what happened."""
    target = safe_next(form_text(form, "back") or "/admin")
    joiner = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{joiner}notice={notice_key}", status_code=303)


async def _shown(session: SystemSession, user: User) -> dict[str, Any]:
    verification = None
    if user.role == "tutor":
        try:
            verification = (await accounts.tutor_profile(session, user.id)).verification_status
        except NotFound:
            verification = None
    totals = None
    if user.role == "student":
        totals = await scheduling.learner_totals(session, user.id)
    return {
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "role": user.role,
        "status": user.status,
        "created_at": user.created_at,
        "verification": verification,
        "sessions_booked": None if totals is None else totals.total_sessions_booked,
        "spent": {} if totals is None else totals.total_spent_cents,
    }


@router.get("/admin", include_in_schema=False)
async def admin_users(
    request: Request,
    page: AdminPage,
    session: SystemSession,
    q: Annotated[str | None, Query(max_length=254)] = None,
    role: Role = "",
    status: Status = "",
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    notice_key: Annotated[str | None, Query(alias="notice", max_length=40)] = None,
) -> Response:
    """Users newest first, searched by e-mail or name; tutors show their verification."""
    rows, next_cursor = await accounts.list_users(
        session,
        q=q or None,
        role=role or None,
        status=status or None,
        limit=PAGE_SIZE,
        cursor=cursor,
    )
    filters = {"q": q or "", "role": role, "status": status}
    more = urlencode({**filters, "cursor": next_cursor}) if next_cursor else None
    return render(
        page,
        "admin_users.html",
        users=[await _shown(session, row) for row in rows],
        filters=filters,
        more=more,
        here=request.url.path + (f"?{urlencode(filters)}"),
        notice=notice(page.viewer, notice_key),
    )


@router.post("/admin/users/{user_id}/suspend", include_in_schema=False)
async def admin_suspend(
    user_id: uuid.UUID, request: Request, page: AdminPage, session: SystemSession
) -> Response:
    assert page.user is not None
    form = await request.form()
    try:
        reason = Suspension(reason=form_text(form, "reason")).reason
    except ValidationError as exc:
        raise Unprocessable("Give a reason for the suspension.", code="reason_required") from exc
    await accounts.suspend(session, page.user, user_id, reason)
    return _back(form, "user_suspended")


@router.post("/admin/users/{user_id}/restore", include_in_schema=False)
async def admin_restore(
    user_id: uuid.UUID, request: Request, page: AdminPage, session: SystemSession
) -> Response:
    assert page.user is not None
    form = await request.form()
    await accounts.restore(session, page.user, user_id)
    return _back(form, "user_restored")


@router.post("/admin/tutors/{user_id}/{decision}", include_in_schema=False)
async def admin_verify(
    user_id: uuid.UUID,
    decision: Literal["verify", "refuse"],
    request: Request,
    page: AdminPage,
    session: Session,
) -> Response:
    assert page.user is not None
    form = await request.form()
    outcome = "verified" if decision == "verify" else "rejected"
    await accounts.set_tutor_verification(session, page.user, user_id, outcome, None)
    return _back(form, f"tutor_{outcome}")
