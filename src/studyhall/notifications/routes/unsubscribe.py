"""Notifications HTTP: the unsubscribe link of every non-account email (RFC 8058 one-click)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from studyhall.db.rls import SystemSession
from studyhall.kit.errors import BadRequest
from studyhall.notifications.service import inbox
from studyhall.notifications.service.unsubscribe import UnsubscribeClaim, read_token

router = APIRouter()


def _claim(request: Request, token: str) -> UnsubscribeClaim:
    claim = read_token(request.app.state.settings.secret_key.get_secret_value(), token)
    if claim is None:
        raise BadRequest("This unsubscribe link is not valid.", code="invalid_unsubscribe_token")
    return claim


@router.get(
    "/notifications/unsubscribe",
    response_class=HTMLResponse,
    summary="Show the unsubscribe confirmation page",
)
async def unsubscribe_get(request: Request, token: str) -> HTMLResponse:
    """The page an email's unsubscribe link opens (public; the signed token is the key). A GET
    changes nothing, since mail scanners open links: the page posts to the one-click URL."""
    claim = _claim(request, token)
    label = claim.type.replace("_", " ")
    return HTMLResponse(
        "<!doctype html><title>Unsubscribe</title>"
        f"<form method='post'><p>Stop {label} emails?</p>"
        "<input type='hidden' name='List-Unsubscribe' value='One-Click'>"
        "<button type='submit'>Unsubscribe</button></form>"
    )


@router.post("/notifications/unsubscribe", summary="Unsubscribe from one type of email")
async def unsubscribe_create(
    request: Request, token: str, session: SystemSession
) -> dict[str, str]:
    """One-click unsubscribe, RFC 8058 (public; the signed token is the key). The link, not a
    session, says whose preference changes, so this request acts across users."""
    claim = _claim(request, token)
    if not await inbox.unsubscribe(session, claim):
        raise BadRequest("This unsubscribe link is not valid.", code="invalid_unsubscribe_token")
    return {"type": claim.type, "channel": "email", "status": "unsubscribed"}
