"""Change password, password reset by emailed token, email verification (no HTTP here)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import User
from studyhall.accounts.service import emailed, security
from studyhall.accounts.service.users import end_all_sessions, get_user
from studyhall.audit import service as audit
from studyhall.config import Settings
from studyhall.db.engine import set_current_user
from studyhall.jobs.mail import Mail, send_mail
from studyhall.kit.errors import Conflict, Unauthorized, Unprocessable

INVALID_LINK = "This link is invalid, expired or already used; ask for a new one."


def _check_new_password(password: str) -> None:
    if problem := security.password_problem(password):
        raise Unprocessable(problem, code="weak_password", field="new_password")


async def change_password(session: AsyncSession, user: User, current: str, new: str) -> None:
    """Every session ends, this one included: the caller signs in again with the new password."""
    if user.password_hash is None:
        raise Conflict(
            "This account signs in through an external provider and has no password.",
            code="no_password",
        )
    if not await security.verify_password_async(user.password_hash, current):
        raise Unauthorized("The current password is wrong.", code="bad_credentials")
    _check_new_password(new)
    user.password_hash = await security.hash_password_async(new)
    await end_all_sessions(session, user.id)
    await audit.record(session, user.id, "user.change_password", "user", user.id)


async def request_reset(session: AsyncSession, email: str, settings: Settings) -> None:
    """Mails a link when the account exists; says nothing either way (no account discovery)."""
    user = await session.scalar(
        select(User).where(User.email == email, User.deleted_at.is_(None), User.status == "active")
    )
    if user is None:
        return
    # Mailing the account's holder a link of theirs is work done for them: the transaction acts
    # for them (it can reach their rows, nobody else's), not across users.
    await set_current_user(session, user.id)
    token = await emailed.issue(session, user.id, "password_reset")
    link = f"{settings.base_url}/reset-password?token={token}"
    await send_mail(
        session,
        Mail(
            to=user.email,
            subject="Reset your Studyhall password",
            text=(
                f"Hello {user.name},\n\nTo choose a new password open\n{link}\n\n"
                f"Reset token: {token}\n\nThe link works once and for one hour. "
                "If you did not ask for it, ignore this message.\n"
            ),
        ),
    )
    await audit.record(session, None, "user.password_reset_requested", "user", user.id)


async def confirm_reset(session: AsyncSession, raw_token: str, new_password: str) -> User:
    _check_new_password(new_password)
    token = await emailed.redeem(session, raw_token, "password_reset")
    if token is None:
        raise Unprocessable(INVALID_LINK, code="invalid_token", field="token")
    user = await get_user(session, token.user_id)
    user.password_hash = await security.hash_password_async(new_password)
    await end_all_sessions(session, user.id)
    await audit.record(session, user.id, "user.password_reset", "user", user.id)
    return user


async def request_verification(session: AsyncSession, user: User, settings: Settings) -> None:
    if user.is_verified:
        raise Conflict("This email address is already verified.", code="already_verified")
    token = await emailed.issue(session, user.id, "email_verification", {"email": user.email})
    link = f"{settings.base_url}/verify-email?token={token}"
    await send_mail(
        session,
        Mail(
            to=user.email,
            subject="Confirm your email address for Studyhall",
            text=(
                f"Hello {user.name},\n\nConfirm this address by opening\n{link}\n\n"
                f"Verification token: {token}\n"
            ),
        ),
    )
    await audit.record(session, user.id, "user.verification_requested", "user", user.id)


async def confirm_verification(session: AsyncSession, raw_token: str) -> User:
    token = await emailed.redeem(session, raw_token, "email_verification")
    if token is None:
        raise Unprocessable(INVALID_LINK, code="invalid_token", field="token")
    user = await get_user(session, token.user_id)
    # An address changed since the mail was sent is not the one this link proves.
    if str(token.payload.get("email", "")).lower() != user.email.lower():
        raise Unprocessable(INVALID_LINK, code="invalid_token", field="token")
    user.is_verified = True
    await audit.record(session, user.id, "user.verify_email", "user", user.id)
    return user
