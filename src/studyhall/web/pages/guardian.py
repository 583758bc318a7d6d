"""Guardians and their wards: the minor asks a guardian for consent (and asks again), and the
guardian, signed in with the e-mail address the consent names, sees the ward's bookings and
progress.

A guardian is an ordinary account: the accounts domain knows them only as the e-mail address
on the ward's standing consent, and progress's ``require_guardian`` (the check behind
``GET /api/v1/guardian/wards/{id}/progress``) admits exactly that account. The consent page links
the guardian here after they consent.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import EmailStr, TypeAdapter, ValidationError
from starlette.responses import RedirectResponse, Response

from studyhall.accounts import service as accounts
from studyhall.db.deps import Session
from studyhall.db.rls import cross_users
from studyhall.kit.errors import DomainError
from studyhall.kit.paging import PageRequest
from studyhall.progress import service as progress
from studyhall.scheduling import service as scheduling
from studyhall.web.deps import AccountPage, MemberPage
from studyhall.web.errors import FormInvalid
from studyhall.web.messages import domain_message, notice
from studyhall.web.pages.progress import progress_context
from studyhall.web.rendering import render

router = APIRouter()

Notice = Annotated[str | None, Query(alias="notice", max_length=40)]
EMAIL = TypeAdapter(EmailStr)
BOOKINGS_SHOWN = 50


@router.get("/guardian-request", include_in_schema=False)
async def guardian_request_page(
    request: Request, page: AccountPage, session: Session, notice_key: Notice = None
) -> Response:
    assert page.user is not None
    state, guardian_email = await accounts.consent_status(
        session, page.user, request.app.state.settings
    )
    return render(
        page,
        "guardian_request.html",
        state=state,
        values={"guardian_email": guardian_email or ""},
        errors={},
        notice=notice(page.viewer, notice_key),
    )


@router.post("/guardian-request", include_in_schema=False)
async def guardian_request(request: Request, page: AccountPage, session: Session) -> Response:
    """Mails the guardian the consent link; asking again replaces the earlier link."""
    assert page.user is not None
    settings = request.app.state.settings
    state, _ = await accounts.consent_status(session, page.user, settings)
    raw = (await request.form()).get("guardian_email")
    address = raw.strip() if isinstance(raw, str) else ""
    try:
        await accounts.request_guardian_consent(
            session, page.user, EMAIL.validate_python(address), settings
        )
    except ValidationError as exc:
        message = page.viewer.gettext("Enter a valid email address.")
        raise _refused(state, address, message) from exc
    except DomainError as exc:
        message = domain_message(page.viewer, exc)
        raise _refused(state, address, message, exc.status) from exc
    return RedirectResponse("/guardian-request?notice=guardian_asked", status_code=303)


def _refused(state: str, address: str, message: str, status_code: int = 422) -> FormInvalid:
    return FormInvalid(
        "guardian_request.html",
        status_code=status_code,
        state=state,
        values={"guardian_email": address},
        errors={"guardian_email": message},
        notice=None,
    )


@router.get("/guardian/wards", include_in_schema=False)
async def wards_page(page: MemberPage, session: Session) -> Response:
    """Every ward whose standing consent names the signed-in person's e-mail."""
    assert page.user is not None
    wards = await accounts.wards(session)
    return render(page, "guardian_wards.html", wards=wards)


@router.get("/guardian/wards/{ward_id}", include_in_schema=False)
async def ward_page(ward_id: uuid.UUID, page: MemberPage, session: Session) -> Response:
    """The ward's bookings and progress, read as the ward's own pages read them."""
    assert page.user is not None
    # The guardian reads another user's rows: this unit of work crosses users from its start,
    # and the guardian check is what admits the caller (404 for anyone else).
    await cross_users(session)
    await progress.require_guardian(session, page.user, ward_id)
    ward = await accounts.get_user(session, ward_id)
    bookings, _ = await scheduling.list_bookings(
        session, ward, None, PageRequest(limit=BOOKINGS_SHOWN, cursor=None)
    )
    details = [await scheduling.get_booking_details(session, ward, b.id) for b in bookings]
    return render(
        page,
        "guardian_ward.html",
        ward_name=ward.name,
        bookings=details,
        **await progress_context(session, ward_id),
    )
