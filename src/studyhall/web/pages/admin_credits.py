"""Admin page for one learner's credits: the balance, when unspent credits expire, the ledger
newest first (keyset paged), a manual grant or take-back with a note, and reversing an entry.

Each action calls the billing service the ``/api/v1/billing/admin`` credit routes call, with the
signed-in admin as the actor, so the ledger's rules (never below zero, one reversal per entry,
credits for students only) and its audit entries are the API's. The forms carry an idempotency
key drawn with the page under the API route's own scope, so a double submit posts once.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from studyhall.accounts import service as accounts
from studyhall.billing import service as billing
from studyhall.billing.models import CreditLedgerEntry
from studyhall.billing.schemas import LedgerEntryRead, ManualCreditBody, ReverseBody
from studyhall.db.rls import SystemSession
from studyhall.kit.errors import NotFound, Unprocessable
from studyhall.kit.paging import PageRequest
from studyhall.web.messages import notice
from studyhall.web.pages.admin import AdminPage, form_key, form_text
from studyhall.web.rendering import render

router = APIRouter()

PAGE_SIZE = 30
Notice = Annotated[str | None, Query(alias="notice", max_length=40)]


def _page_of(user_id: uuid.UUID) -> str:
    return f"/admin/users/{user_id}/credits"


def _back(user_id: uuid.UUID, key: str) -> RedirectResponse:
    return RedirectResponse(f"{_page_of(user_id)}?notice={key}", status_code=303)


async def _entry_read(session: SystemSession, entry_id: uuid.UUID) -> LedgerEntryRead:
    """The API route's answer, so a key shared with it replays the same body."""
    entry = await session.get(CreditLedgerEntry, entry_id)
    assert entry is not None
    return LedgerEntryRead.model_validate(entry)


@router.get("/admin/users/{user_id}/credits", include_in_schema=False)
async def admin_credits_page(
    user_id: uuid.UUID,
    page: AdminPage,
    session: SystemSession,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    notice_key: Notice = None,
) -> Response:
    """The learner's balance, expiring credits and one page of their ledger."""
    user = await accounts.get_user(session, user_id)
    entries, next_cursor = await billing.ledger_entries(
        session, user_id, PageRequest(limit=PAGE_SIZE, cursor=cursor)
    )
    context: dict[str, Any] = {
        "person": {"id": user.id, "name": user.name, "email": user.email, "role": user.role},
        "balance": await billing.credit_balance(session, user_id),
        "expiring": await billing.expiring_credits(session, user_id),
        "entries": entries,
        "first_page": cursor is None,
        "more": next_cursor,
        "idempotency_key": str(uuid.uuid4()),
        "notice": notice(page.viewer, notice_key),
    }
    return render(page, "admin_credits.html", **context)


def _whole_number(typed: str) -> int:
    try:
        return int(typed.replace("+", "", 1) if typed.startswith("+") else typed)
    except ValueError as exc:
        raise Unprocessable(
            "Enter a whole number of credits: positive grants, negative takes back.",
            code="credit_delta_invalid",
        ) from exc


@router.post("/admin/users/{user_id}/credits", include_in_schema=False)
async def admin_credits_adjust(
    user_id: uuid.UUID, request: Request, page: AdminPage, session: SystemSession
) -> Response:
    """A manual entry, as ``POST /billing/admin/users/{id}/credits`` does."""
    assert page.user is not None
    form = await request.form()
    key = form_key(form)
    delta = _whole_number(form_text(form, "delta"))
    try:
        body = ManualCreditBody(delta=delta, note=form_text(form, "note"))
    except ValidationError as exc:
        raise Unprocessable(
            "Give a note and a change of at most a million credits.", code="credit_form_invalid"
        ) from exc
    admin_id = page.user.id

    async def work() -> LedgerEntryRead:
        posted = await billing.adjust_credits(
            session, user_id, body.delta, actor=admin_id, note=body.note
        )
        return await _entry_read(session, posted.id)

    await billing.once(
        session,
        key=key,
        user_id=admin_id,
        scope=f"POST /billing/admin/users/{user_id}/credits",
        payload=body,
        status=201,
        work=work,
    )
    return _back(user_id, "credits_adjusted")


@router.post("/admin/credit-entries/{entry_id}/reverse", include_in_schema=False)
async def admin_credit_entry_reverse(
    entry_id: uuid.UUID, request: Request, page: AdminPage, session: SystemSession
) -> Response:
    """Post the entry's opposite, as ``POST /billing/admin/credit-entries/{id}/reverse`` does."""
    assert page.user is not None
    form = await request.form()
    key = form_key(form)
    try:
        body = ReverseBody(note=form_text(form, "note") or None)
    except ValidationError as exc:
        raise Unprocessable("The note is too long.", code="note_too_long") from exc
    admin_id = page.user.id

    async def work() -> LedgerEntryRead:
        posted = await billing.reverse_ledger_entry(
            session, entry_id, actor=admin_id, note=body.note
        )
        return await _entry_read(session, posted.id)

    await billing.once(
        session,
        key=key,
        user_id=admin_id,
        scope=f"POST /billing/admin/credit-entries/{entry_id}/reverse",
        payload=body,
        status=201,
        work=work,
    )
    # Back to the ledger the entry is in (a replayed submit ran no work, so read it here).
    reversed_entry = await session.get(CreditLedgerEntry, entry_id)
    if reversed_entry is None:
        raise NotFound("No such ledger entry.", code="ledger_entry_not_found")
    return _back(reversed_entry.user_id, "credit_entry_reversed")
