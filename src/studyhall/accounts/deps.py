"""Who is calling: typed dependencies every route declares (no route reads the token itself),
and what a request says about where it comes from (its address, for rate limits)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import User
from studyhall.accounts.service import consent, ratelimit
from studyhall.accounts.service import users as service
from studyhall.accounts.service.security import decode_access_token
from studyhall.db.deps import SESSION, get_database
from studyhall.db.engine import set_current_user
from studyhall.kit.errors import Forbidden, Unauthorized

API_PREFIX = "/api/v1"

bearer = HTTPBearer(
    auto_error=False, scheme_name="bearer", description="Access token from /api/v1/auth/sign-in"
)


_INVALID = "The access token is missing, invalid or expired; sign in again."


async def _user_from_token(
    request: Request,
    session: AsyncSession,
    credentials: HTTPAuthorizationCredentials | None,
) -> User | None:
    if credentials is None:
        return None
    return await user_for_access_token(request, session, credentials.credentials)


async def user_for_access_token(request: Request, session: AsyncSession, token: str) -> User:
    """The live user an access token names, with the row-level security context set; the one
    check behind the bearer header and the web app's session cookie alike."""
    secret = request.app.state.settings.secret_key.get_secret_value()
    try:
        claims = decode_access_token(token, secret)
    except jwt.InvalidTokenError as exc:
        raise Unauthorized(_INVALID, code="invalid_token", headers=_challenge()) from exc
    # The token's signature proves whom it speaks for, so the transaction acts for them before
    # the first read: the user's own sign-in (refresh tokens) is visible only to its owner.
    # Admin-only policies (webhook endpoints and deliveries) read the signed role; a role
    # changed since the token was issued is declared again.
    admin = claims.role == "admin"
    await set_current_user(session, claims.user_id, admin=admin)
    user = await service.signed_in_user(session, claims)
    if user is None:
        # An ended sign-in acts for nobody, also where the caller carries on anonymously (a
        # web page whose cookie went stale).
        await set_current_user(session, None)
        raise Unauthorized(_INVALID, code="invalid_token", headers=_challenge())
    if (user.role == "admin") != admin:
        await set_current_user(session, user.id, admin=user.role == "admin")
    request.state.user_id = user.id
    request.state.session_id = claims.session_id
    return user


def _challenge() -> dict[str, str]:
    return {"WWW-Authenticate": 'Bearer error="invalid_token"'}


async def optional_user(
    request: Request,
    session: Annotated[AsyncSession, SESSION],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> User | None:
    """Public routes that show more to a signed-in caller."""
    return await _user_from_token(request, session, credentials)


# A minor without a guardian's consent reaches only these (paths under the API prefix).
CONSENT_EXEMPT_PATHS = ("/me", "/me/student-profile", "/me/tutor-profile")
CONSENT_EXEMPT_PREFIXES = ("/me/guardian-consent", "/auth/")


def consent_exempt(path: str) -> bool:
    local = path.removeprefix(API_PREFIX)
    return local in CONSENT_EXEMPT_PATHS or local.startswith(CONSENT_EXEMPT_PREFIXES)


async def current_user(
    request: Request,
    session: Annotated[AsyncSession, SESSION],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> User:
    """The signed-in caller. Every domain's routes depend on this, so the guardian-consent rule
    holds everywhere without each route asking for it."""
    user = await _user_from_token(request, session, credentials)
    if user is None:
        raise Unauthorized(
            "Sign in first: send 'Authorization: Bearer <access token>'.",
            code="not_authenticated",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not consent_exempt(request.url.path) and await consent.blocks(
        session, user, request.app.state.settings
    ):
        raise Forbidden(
            "A parent or guardian has to consent before this account can be used; "
            "ask for consent at /api/v1/me/guardian-consent.",
            code="guardian_consent_required",
        )
    return user


async def current_user_detached(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> User:
    """The signed-in caller, checked in a transaction of its own that ends before the route runs.

    For routes that call a remote service (a payment provider) between short transactions of
    their own: the request then holds no pooled connection while it waits
    (no transaction stays open across a call to the outside world).
    """
    async with get_database(request).transaction() as session:
        return await current_user(request, session, credentials)


def require_role(*roles: str) -> Callable[..., Coroutine[Any, Any, User]]:
    async def dependency(user: Annotated[User, Depends(current_user)]) -> User:
        if user.role not in roles:
            raise Forbidden(f"This needs the {' or '.join(roles)} role.", code="role_required")
        return user

    return dependency


CurrentUser = Annotated[User, Depends(current_user)]
CurrentUserDetached = Annotated[User, Depends(current_user_detached)]
OptionalUser = Annotated[User | None, Depends(optional_user)]
Admin = Annotated[User, Depends(require_role("admin"))]
Tutor = Annotated[User, Depends(require_role("tutor"))]
TutorOrAdmin = Annotated[User, Depends(require_role("tutor", "admin"))]
Student = Annotated[User, Depends(require_role("student"))]


TOO_MANY_SIGN_INS = "Too many failed sign-ins; wait before trying again."


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def signin_limits(request: Request, email: str) -> list[ratelimit.Limit]:
    """The windows a sign-in attempt counts against: its address and the account it names."""
    settings = request.app.state.settings
    window = settings.signin_window_s
    return [
        ratelimit.Limit(f"signin:ip:{client_ip(request)}", settings.signin_limit_per_ip, window),
        ratelimit.Limit(
            f"signin:account:{ratelimit.account_key(email)}",
            settings.signin_limit_per_account,
            window,
        ),
    ]
