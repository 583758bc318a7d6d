"""Accounts rules: sign-up, sign-in, token rotation, sessions, closing one's own account (no
HTTP here)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, bindparam, func, select, true, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import RefreshToken, User
from studyhall.accounts.schemas import SignUp, UserUpdate
from studyhall.accounts.service import closures, security
from studyhall.accounts.service.profiles import ensure_profile
from studyhall.audit import service as audit
from studyhall.db.engine import set_current_user
from studyhall.kit.errors import Conflict, Forbidden, NotFound, Unauthorized, Unprocessable

BAD_CREDENTIALS = "The email or password is wrong."

# How recent a sign-in must be for what cannot be undone (deleting the account).
RECENT_SIGN_IN = timedelta(minutes=15)


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    refresh_token: str
    expires_in: int


def _now() -> datetime:
    return datetime.now(UTC)


async def sign_up(session: AsyncSession, data: SignUp) -> User:
    if problem := security.password_problem(data.password):
        raise Unprocessable(problem, code="weak_password", field="password")
    password_hash = await security.hash_password_async(data.password)
    user_id = await session.scalar(
        insert(User)
        .values(
            email=data.email,
            password_hash=password_hash,
            auth_provider="password",
            name=data.name,
            role=data.role,
            timezone=data.timezone,
            date_of_birth=data.date_of_birth,
            country=data.country,
        )
        .on_conflict_do_nothing(index_elements=["email"])
        .returning(User.id)
    )
    if user_id is None:
        raise Conflict("An account with this email already exists.", code="email_taken")
    user = await get_user(session, user_id)
    # From here the unit of work acts for the new person (their profile is theirs to write).
    await set_current_user(session, user_id)
    await ensure_profile(session, user)
    await audit.record(session, user.id, "user.sign_up", "user", user.id, {"role": user.role})
    return user


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User:
    user = await session.get(User, user_id)
    if user is None or user.deleted_at is not None:
        raise NotFound("No such user.", code="user_not_found")
    return user


async def authenticate(session: AsyncSession, email: str, password: str) -> User:
    user = await session.scalar(select(User).where(User.email == email, User.deleted_at.is_(None)))
    # verify_password runs argon2 even when there is no user, so both failures cost the same.
    if (
        not await security.verify_password_async(user.password_hash if user else None, password)
        or user is None
    ):
        raise Unauthorized(BAD_CREDENTIALS, code="bad_credentials")
    if user.status != "active":
        raise Unauthorized(BAD_CREDENTIALS, code="bad_credentials")
    # From here the unit of work acts for the person who proved who they are (their tokens).
    await act_for(session, user)
    if user.password_hash and security.needs_rehash(user.password_hash):
        user.password_hash = await security.hash_password_async(password)
    user.last_login_at = _now()
    return user


async def act_for(session: AsyncSession, user: User) -> None:
    """The transaction acts for ``user`` from now on: called once a credential proved who is
    signing in (a password, an identity provider's token, a refresh token)."""
    await set_current_user(session, user.id, admin=user.role == "admin")


async def issue_tokens(
    session: AsyncSession,
    user: User,
    secret: str,
    *,
    family_id: uuid.UUID | None = None,
    client: dict[str, Any] | None = None,
) -> IssuedTokens:
    refresh = security.new_opaque_token()
    now = _now()
    family_id = family_id or uuid.uuid4()
    session.add(
        RefreshToken(
            user_id=user.id,
            family_id=family_id,
            token_hash=security.token_hash(refresh),
            expires_at=now + security.REFRESH_TOKEN_TTL,
            **(client or {}),
        )
    )
    await session.flush()
    return IssuedTokens(
        access_token=security.issue_access_token(
            user.id, user.role, secret, now, session_id=family_id
        ),
        refresh_token=refresh,
        expires_in=int(security.ACCESS_TOKEN_TTL.total_seconds()),
    )


async def rotate_refresh_token(
    session: AsyncSession, presented: str, secret: str, client: dict[str, Any] | None = None
) -> IssuedTokens | None:
    """A new pair for a live token; None when the token is unknown, spent, expired or revoked.

    The row lock makes two concurrent uses of one token see each other: exactly one rotates.
    Before anyone is signed in only the token's owner can be learnt (a function that answers
    for the token's hash and nothing else); holding the token, the transaction acts for them.
    """
    presented_hash = security.token_hash(presented)
    holder = await session.scalar(select(func.studyhall_refresh_token_holder(presented_hash)))
    if holder is None:
        return None
    await set_current_user(session, holder)
    token = await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == presented_hash).with_for_update()
    )
    if token is None:
        return None
    now = _now()
    if token.used_at is not None or token.revoked_at is not None:
        if token.used_at is not None and token.revoked_at is None:
            await revoke_family(session, token.family_id)
            await audit.record(
                session,
                token.user_id,
                "auth.refresh_reuse",
                "refresh_token_family",
                token.family_id,
            )
        return None
    if token.expires_at <= now:
        return None
    user = await session.get(User, token.user_id)
    if user is None or user.status != "active" or user.deleted_at is not None:
        return None
    token.used_at = now
    return await issue_tokens(session, user, secret, family_id=token.family_id, client=client)


async def revoke_family(session: AsyncSession, family_id: uuid.UUID) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=_now())
    )


# Built once: the request path of every authenticated call only binds the two ids.
_SIGNED_IN_LIVE: ColumnElement[bool] = (
    select(RefreshToken.id)
    .where(
        RefreshToken.family_id == bindparam("session_id"),
        RefreshToken.user_id == User.id,
        RefreshToken.revoked_at.is_(None),
    )
    .exists()
)
_USER_AND_SESSION_LIVE = select(User, _SIGNED_IN_LIVE).where(User.id == bindparam("user_id"))
_USER_ALONE = select(User, true()).where(User.id == bindparam("user_id"))


async def signed_in_user(session: AsyncSession, claims: security.AccessClaims) -> User | None:
    """The user an access token speaks for, or None when the token no longer counts.

    One round trip: the user row and whether the token's sign-in is still live (a refresh
    token of its family not revoked, found through ``ix_refresh_tokens_family_id``) come back
    in the same query, so ending a session costs authenticated reads no extra query.
    """
    if claims.session_id is not None:
        statement = _USER_AND_SESSION_LIVE
        params: dict[str, uuid.UUID] = {"user_id": claims.user_id, "session_id": claims.session_id}
    else:
        statement = _USER_ALONE
        params = {"user_id": claims.user_id}
    row = (await session.execute(statement, params)).one_or_none()
    if row is None:
        return None
    user, session_live = row
    if (
        not session_live
        or user.deleted_at is not None
        or user.status != "active"
        or claims.issued_at < user.tokens_valid_after
    ):
        return None
    return user


async def sign_out(
    session: AsyncSession, user: User, session_id: uuid.UUID | None, presented: str | None
) -> None:
    """End the caller's sign-in: its refresh tokens are revoked, and with them every access
    token carrying its session id (refused from the next request on)."""
    families = set() if session_id is None else {session_id}
    if presented is not None:
        token = await session.scalar(
            select(RefreshToken).where(
                RefreshToken.token_hash == security.token_hash(presented),
                RefreshToken.user_id == user.id,
            )
        )
        if token is not None:
            families.add(token.family_id)
    for family_id in families:
        await session.execute(
            update(RefreshToken)
            .where(
                RefreshToken.family_id == family_id,
                RefreshToken.user_id == user.id,
                RefreshToken.revoked_at.is_(None),
            )
            .values(revoked_at=_now())
        )
    await audit.record(session, user.id, "auth.sign_out", "user", user.id)


async def end_all_sessions(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Every refresh token revoked and every access token issued until now refused."""
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=_now())
    )
    await session.execute(update(User).where(User.id == user_id).values(tokens_valid_after=_now()))


async def update_me(session: AsyncSession, user: User, data: UserUpdate) -> User:
    changes = data.model_dump(exclude_unset=True, mode="json")
    before = {key: getattr(user, key) for key in changes}
    for key, value in changes.items():
        setattr(user, key, value)
    await session.flush()
    await audit.record(
        session, user.id, "user.update", "user", user.id, audit.changes(before, changes)
    )
    return user


async def signed_in_at(
    session: AsyncSession, user_id: uuid.UUID, session_id: uuid.UUID
) -> datetime | None:
    """When the sign-in behind ``session_id`` happened: its first refresh token's creation (every
    rotation keeps the session id); None for a session that is not the user's."""
    return await session.scalar(
        select(func.min(RefreshToken.created_at)).where(
            RefreshToken.family_id == session_id, RefreshToken.user_id == user_id
        )
    )


async def require_recent_sign_in(
    session: AsyncSession, user: User, session_id: uuid.UUID | None
) -> None:
    """403 ``reauthentication_required`` unless the caller's session began with a sign-in (a
    password, an identity provider, a password change) within ``RECENT_SIGN_IN``. A token that
    only rotated for a month proves the device, not the person."""
    started = None if session_id is None else await signed_in_at(session, user.id, session_id)
    if started is None or started < _now() - RECENT_SIGN_IN:
        minutes = int(RECENT_SIGN_IN.total_seconds() // 60)
        raise Forbidden(
            f"This needs a sign-in from the last {minutes} minutes: sign in again, then retry.",
            code="reauthentication_required",
        )


async def delete_account(session: AsyncSession, user: User, session_id: uuid.UUID | None) -> None:
    """Soft delete: the row stays for audit and references, the account is closed for good.
    Only a recent sign-in may do it (``require_recent_sign_in``), whatever way the person signs
    in. After it commits, the account's future bookings and its subscription are wound down.
    """
    await require_recent_sign_in(session, user, session_id)
    user.status = "deleted"
    user.deleted_at = _now()
    await end_all_sessions(session, user.id)
    await closures.account_closed(session, user.id, "deleted")
    await audit.record(session, user.id, "user.delete", "user", user.id)
