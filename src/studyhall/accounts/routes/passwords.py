"""Accounts HTTP: passwords (change, reset by emailed link) and verifying an email address."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from studyhall.accounts.deps import CurrentUser, client_ip
from studyhall.accounts.routes.auth import new_sign_in
from studyhall.accounts.schemas import (
    Accepted,
    ChangePassword,
    EmailOnly,
    ResetPassword,
    TokenOnly,
    TokenPair,
    UserRead,
)
from studyhall.accounts.service import passwords, ratelimit
from studyhall.db.deps import Session, get_database

router = APIRouter(prefix="/auth")

RESET_SENT = "If an account uses this address, a reset link is on its way."


@router.post("/change-password", summary="Change the caller's password")
async def password_update(
    data: ChangePassword, user: CurrentUser, request: Request, session: Session
) -> TokenPair:
    """Changes the caller's password (the current one is required). Every session ends; the
    answer is a new token pair, a fresh sign-in."""
    await passwords.change_password(session, user, data.current_password, data.new_password)
    return await new_sign_in(request, session, user)


@router.post(
    "/password-reset",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Mail a password reset link",
)
async def password_resets_create(data: EmailOnly, request: Request, session: Session) -> Accepted:
    """Mails a single-use password reset link (public). The answer is the same whether or not
    an account uses the address; requests are rate limited per address and per account."""
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
    "/password-reset/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Set a new password with a reset link",
)
async def password_reset_confirm(data: ResetPassword, session: Session) -> None:
    """Sets a new password with the emailed token (public; the token is the credential, good
    once). Every session of the account ends."""
    await passwords.confirm_reset(session, data.token, data.new_password)


@router.post(
    "/verify-email",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Mail a link that verifies the caller's email",
)
async def email_verifications_create(
    user: CurrentUser, request: Request, session: Session
) -> Accepted:
    """Mails the caller a single-use link that verifies their email address."""
    await passwords.request_verification(session, user, request.app.state.settings)
    return Accepted(detail=f"A verification link was sent to {user.email}.")


@router.post("/verify-email/confirm", summary="Verify an email address with its link")
async def email_verification_confirm(data: TokenOnly, session: Session) -> UserRead:
    """Marks the address verified with the emailed token (public; the token is the credential)."""
    return UserRead.model_validate(await passwords.confirm_verification(session, data.token))
