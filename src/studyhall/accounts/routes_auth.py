"""Accounts HTTP: passwords, emailed links, external identity."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request, status

from studyhall.accounts import oidc, passwords, ratelimit, service
from studyhall.accounts.deps import CurrentUser
from studyhall.accounts.router import _client, _pair, _secret, client_ip
from studyhall.accounts.schemas import (
    Accepted,
    ChangePassword,
    EmailOnly,
    OidcSignIn,
    ResetPassword,
    TokenOnly,
    TokenPair,
    UserRead,
)
from studyhall.db.deps import Session, get_database
from studyhall.kit.errors import Unauthorized

router = APIRouter(tags=["accounts"])

RESET_SENT = "If an account uses this address, a reset link is on its way."


@router.post(
    "/auth/change-password",
    summary="Change the caller's password; every session ends, a new pair is returned",
)
async def change_password(
    data: ChangePassword, user: CurrentUser, request: Request, session: Session
) -> TokenPair:
    await passwords.change_password(session, user, data.current_password, data.new_password)
    return _pair(
        await service.issue_tokens(session, user, _secret(request), client=_client(request))
    )


@router.post(
    "/auth/password-reset",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Mail a single-use password reset link (public)",
)
async def request_password_reset(data: EmailOnly, request: Request, session: Session) -> Accepted:
    settings = request.app.state.settings
    window = settings.reset_window_s
    await ratelimit.hit(
        get_database(request),
        [
            ratelimit.Limit(f"reset:ip:{client_ip(request)}", settings.reset_limit_per_ip, window),
            ratelimit.Limit(
                f"reset:account:{ratelimit.account_key(data.email)}",
                settings.reset_limit_per_account,
                window,
            ),
        ],
        "Too many password reset requests; wait before asking again.",
    )
    await passwords.request_reset(session, data.email, settings)
    return Accepted(detail=RESET_SENT)


@router.post(
    "/auth/password-reset/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Set a new password with the emailed token (public; the token is the credential)",
)
async def confirm_password_reset(data: ResetPassword, session: Session) -> None:
    await passwords.confirm_reset(session, data.token, data.new_password)


@router.post(
    "/auth/verify-email",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Mail the caller a link that verifies their email address",
)
async def request_verification(user: CurrentUser, request: Request, session: Session) -> Accepted:
    await passwords.request_verification(session, user, request.app.state.settings)
    return Accepted(detail=f"A verification link was sent to {user.email}.")


@router.post(
    "/auth/verify-email/confirm",
    summary="Verify an email address with the emailed token (public; the token is the credential)",
)
async def confirm_verification(data: TokenOnly, session: Session) -> UserRead:
    return UserRead.model_validate(await passwords.confirm_verification(session, data.token))


@router.post(
    "/auth/oidc",
    summary="Exchange an ID token of the configured identity provider for tokens (public)",
)
async def oidc_sign_in(data: OidcSignIn, request: Request, session: Session) -> TokenPair:
    claims = await oidc.verifier_for(request.app).verify(data.id_token)
    provider = request.app.state.settings.oidc_provider
    user = await oidc.user_for_claims(session, claims, provider)
    if user.status != "active":
        raise Unauthorized(service.BAD_CREDENTIALS, code="bad_credentials")
    user.last_login_at = datetime.now(UTC)
    return _pair(
        await service.issue_tokens(session, user, _secret(request), client=_client(request))
    )
