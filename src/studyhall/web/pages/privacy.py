"""The signed-in user's own data: export it (a zip, downloaded once from the e-mailed link) and
delete the account.

Exporting calls ``privacy.service.request_export`` and queues the same build job as
``POST /api/v1/me/export``. Deleting calls ``accounts.service.delete_account`` like
``DELETE /api/v1/me``, which needs a sign-in of the last few minutes: the page asks for the
password again and that check is a sign-in (same rate limits), starting the fresh session the
service asks for.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from studyhall.accounts import service as accounts
from studyhall.accounts.deps import TOO_MANY_SIGN_INS, signin_limits
from studyhall.db.deps import Session, get_database
from studyhall.jobs.core import enqueue
from studyhall.kit.errors import DomainError
from studyhall.privacy import service as privacy
from studyhall.privacy.jobs import build_export
from studyhall.web.deps import AccountPage
from studyhall.web.errors import FormInvalid
from studyhall.web.messages import domain_message
from studyhall.web.rendering import Visit, render
from studyhall.web.sessions import client_details, end_session

router = APIRouter()


def _secret(request: Request) -> str:
    return str(request.app.state.settings.secret_key.get_secret_value())


def _grace_days(request: Request) -> int:
    return int(request.app.state.settings.erase_deleted_accounts_after_days)


@router.post("/account/export", include_in_schema=False)
async def export_request(page: AccountPage, session: Session) -> Response:
    assert page.user is not None
    export, created = await privacy.request_export(session, page.user.id)
    if created:
        await enqueue(session, build_export, export_id=str(export.id))
    return RedirectResponse(f"/account/exports/{export.id}", status_code=303)


@router.get("/account/exports/{export_id}", include_in_schema=False)
async def export_page(
    export_id: uuid.UUID, request: Request, page: AccountPage, session: Session
) -> Response:
    """The export's state; while it is built, htmx asks again every few seconds."""
    assert page.user is not None
    export = await privacy.get_export(session, page.user.id, export_id)
    shown: dict[str, Any] = {
        "id": export.id,
        "status": export.status,
        "size_bytes": export.size_bytes,
        "created_at": export.created_at,
        "expires_at": export.expires_at,
        "downloaded_at": export.downloaded_at,
    }
    template = "_export_status.html" if request.headers.get("HX-Request") else "account_export.html"
    return render(page, template, export=shown)


def _delete_form(page: Visit, request: Request, **extra: Any) -> dict[str, Any]:
    return {"days": _grace_days(request), "error": None, **extra}


@router.get("/account/delete", include_in_schema=False)
async def delete_page(request: Request, page: AccountPage) -> Response:
    return render(page, "account_delete.html", **_delete_form(page, request))


@router.post("/account/delete", include_in_schema=False)
async def delete_account(request: Request, page: AccountPage, session: Session) -> Response:
    assert page.user is not None
    form = await request.form()
    password = form.get("password")
    email = page.user.email
    limits = signin_limits(request, email)
    try:
        await accounts.hit(get_database(request), limits, TOO_MANY_SIGN_INS)
        person = await accounts.authenticate(
            session, email, password if isinstance(password, str) else ""
        )
        # The password is a fresh sign-in: its new session is the recent one deletion asks for.
        tokens = await accounts.issue_tokens(
            session, person, _secret(request), client=client_details(request)
        )
        claims = accounts.decode_access_token(tokens.access_token, _secret(request))
        await accounts.delete_account(session, person, claims.session_id)
    except DomainError as exc:
        context = _delete_form(page, request, error=domain_message(page.viewer, exc))
        raise FormInvalid(
            "account_delete.html", status_code=exc.status, headers=exc.headers, **context
        ) from exc
    end_session(request)
    return RedirectResponse("/sign-in?notice=account_deleted", status_code=303)
