"""The guardian's pages, opened from the emailed consent and withdrawal links.

Opening a link changes nothing (mail scanners open links); the guardian decides with a button.
The decision goes through the accounts domain's consent service with the legal text's
fingerprint, exactly as an API client sends it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.datastructures import FormData
from starlette.responses import Response

from studyhall.accounts import service
from studyhall.accounts.deps import client_ip
from studyhall.db.deps import Session
from studyhall.kit.errors import DomainError
from studyhall.web.deps import Page
from studyhall.web.errors import FormInvalid
from studyhall.web.messages import domain_message
from studyhall.web.rendering import render

router = APIRouter()

Token = Annotated[str, Query(min_length=10, max_length=200)]


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


@router.get("/guardian-consent", include_in_schema=False)
async def consent_page(page: Page, session: Session, token: Token) -> Response:
    try:
        child, guardian_email = await service.view(session, token)
    except DomainError as exc:
        return render(
            page,
            "guardian_consent.html",
            status_code=exc.status,
            token=token,
            child=None,
            error=domain_message(page.viewer, exc),
            legal_text="",
            legal_text_hash="",
        )
    return render(
        page,
        "guardian_consent.html",
        token=token,
        child=child,
        guardian_email=guardian_email,
        legal_text=service.LEGAL_TEXT,
        legal_text_hash=service.LEGAL_TEXT_HASH,
        error=None,
    )


@router.post("/guardian-consent", include_in_schema=False)
async def decide(request: Request, page: Page, session: Session) -> Response:
    form = await request.form()
    given = _field(form, "decision") == "give"
    try:
        child, _ = await service.view(session, _field(form, "token"))
        await service.decide(
            session,
            _field(form, "token"),
            given,
            _field(form, "legal_text_hash"),
            client_ip(request),
            request.app.state.settings,
        )
    except DomainError as exc:
        raise FormInvalid(
            "guardian_consent.html",
            status_code=exc.status,
            token="",
            child=None,
            error=domain_message(page.viewer, exc),
            legal_text="",
            legal_text_hash="",
        ) from exc
    # After consenting, the guardian signs in with the consented address to see the ward.
    return render(
        page,
        "guardian_consent_done.html",
        outcome="given" if given else "refused",
        ward_id=child.id,
    )


@router.get("/guardian-consent/withdraw", include_in_schema=False)
async def withdraw_page(page: Page, session: Session, token: Token) -> Response:
    live = await service.peek(session, token, "consent_withdrawal")
    return render(page, "guardian_consent_withdraw.html", token=token, live=live is not None)


@router.post("/guardian-consent/withdraw", include_in_schema=False)
async def withdraw(request: Request, page: Page, session: Session) -> Response:
    form = await request.form()
    try:
        await service.withdraw(session, _field(form, "token"), client_ip(request))
    except DomainError as exc:
        raise FormInvalid(
            "guardian_consent_withdraw.html", status_code=exc.status, token="", live=False
        ) from exc
    return render(page, "guardian_consent_done.html", outcome="withdrawn", ward_id=None)
