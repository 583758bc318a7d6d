"""Browser sessions: the accounts domain's own token pair, kept in cookies, and CSRF tokens.

The access token and the refresh token live in HttpOnly, SameSite=Lax cookies (Secure outside
development). An expired access token is renewed with the refresh token by the accounts service,
so rotation, reuse detection and "sessions end at once" hold for a browser exactly as for an API
client. Every form carries a CSRF token: an HMAC of a random value kept in its own cookie (a
signed double submit), which a cross-site page can neither read nor forge.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import MutableMapping
from typing import Any

import jwt
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from studyhall.accounts import service
from studyhall.accounts.deps import user_for_access_token
from studyhall.accounts.models import User
from studyhall.accounts.service import ACCESS_TOKEN_TTL, REFRESH_TOKEN_TTL, decode_access_token
from studyhall.config import Settings
from studyhall.db.deps import get_database
from studyhall.kit.errors import Unauthorized

ACCESS_COOKIE = "sh_access"
REFRESH_COOKIE = "sh_refresh"
CSRF_COOKIE = "sh_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
_PENDING = "web_pending_cookies"


class PendingCookies:
    """Adds the cookies a request decided on (``queue_cookie``) to whatever response it gets,
    including error pages and redirects built far from where the decision was taken."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_cookies(message: Message) -> None:
            if message["type"] == "http.response.start":
                pending = scope.get("state", {}).get(_PENDING)
                if pending:
                    message = {**message, "headers": [*message.get("headers", []), *pending]}
            await send(message)

        await self.app(scope, receive, send_with_cookies)


def _secure(settings: Settings) -> bool:
    return settings.environment != "development"


def queue_cookie(request: Request, name: str, value: str | None, max_age: int = 0) -> None:
    """Set (or, with ``value=None``, delete) a cookie on this request's response."""
    settings: Settings = request.app.state.settings
    carrier = Response()
    if value is None:
        carrier.delete_cookie(
            name, path="/", httponly=True, samesite="lax", secure=_secure(settings)
        )
    else:
        carrier.set_cookie(
            name,
            value,
            max_age=max_age,
            path="/",
            httponly=True,
            samesite="lax",
            secure=_secure(settings),
        )
    state: MutableMapping[str, Any] = request.scope.setdefault("state", {})
    pending: list[tuple[bytes, bytes]] = state.setdefault(_PENDING, [])
    pending.extend((key, value) for key, value in carrier.raw_headers if key == b"set-cookie")


def start_session(request: Request, tokens: service.IssuedTokens) -> None:
    queue_cookie(request, ACCESS_COOKIE, tokens.access_token, int(ACCESS_TOKEN_TTL.total_seconds()))
    queue_cookie(
        request, REFRESH_COOKIE, tokens.refresh_token, int(REFRESH_TOKEN_TTL.total_seconds())
    )


def end_session(request: Request) -> None:
    queue_cookie(request, ACCESS_COOKIE, None)
    queue_cookie(request, REFRESH_COOKIE, None)


def client_details(request: Request) -> dict[str, str | None]:
    return {
        "user_agent": (request.headers.get("user-agent") or "")[:512] or None,
        "ip_address": request.client.host if request.client else None,
    }


def _secret(request: Request) -> str:
    return str(request.app.state.settings.secret_key.get_secret_value())


async def session_user(request: Request, session: AsyncSession) -> User | None:
    """The signed-in browser's user, renewing the access token when only the refresh token is
    still good; None (and the cookies cleared) when the session has ended."""
    access = request.cookies.get(ACCESS_COOKIE)
    if access and _still_valid(access, _secret(request)):
        try:
            return await user_for_access_token(request, session, access)
        except Unauthorized:
            end_session(request)
            return None
    refresh = request.cookies.get(REFRESH_COOKIE)
    if not refresh:
        return None
    # Its own transaction, committed whatever the page does next: a reused token's family
    # revocation must stick even when the page then answers "sign in first" (and rolls back).
    # Nothing has touched the request's session yet, so no second connection is held.
    async with get_database(request).transaction() as own:
        tokens = await service.rotate_refresh_token(
            own, refresh, _secret(request), client_details(request)
        )
    if tokens is None:
        end_session(request)
        return None
    start_session(request, tokens)
    return await user_for_access_token(request, session, tokens.access_token)


def _still_valid(access: str, secret: str) -> bool:
    try:
        decode_access_token(access, secret)
    except jwt.InvalidTokenError:
        return False
    return True


# --- CSRF -------------------------------------------------------------------------------------


def _sign(secret: str, nonce: str) -> str:
    return hmac.new(secret.encode(), f"csrf:{nonce}".encode(), hashlib.sha256).hexdigest()


def csrf_token(request: Request) -> str:
    """The token this page's forms carry; the first page a browser sees sets the cookie."""
    nonce = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "csrf_nonce", None)
    if not nonce:
        nonce = secrets.token_urlsafe(32)
        request.state.csrf_nonce = nonce
        queue_cookie(request, CSRF_COOKIE, nonce, int(REFRESH_TOKEN_TTL.total_seconds()))
    return _sign(_secret(request), nonce)


def csrf_valid(request: Request, presented: str | None) -> bool:
    nonce = request.cookies.get(CSRF_COOKIE)
    if not nonce or not presented:
        return False
    return hmac.compare_digest(_sign(_secret(request), nonce), presented)
