"""Single-use, expiring tokens sent by email (verification, password reset, guardian consent).

Only the SHA-256 of a token is stored. Redeeming is one conditional UPDATE, so two concurrent
redemptions of one token cannot both succeed.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import AuthToken
from studyhall.accounts.service import security

TTL = {
    "email_verification": timedelta(days=2),
    "password_reset": timedelta(hours=1),
    "guardian_consent": timedelta(days=7),
    "consent_withdrawal": timedelta(days=400),
}


async def issue(
    session: AsyncSession,
    user_id: uuid.UUID,
    purpose: str,
    payload: dict[str, Any] | None = None,
    *,
    replace_open: bool = True,
) -> str:
    """A new token; earlier unused tokens of the same purpose stop working (``replace_open``)."""
    now = datetime.now(UTC)
    if replace_open:
        await session.execute(
            update(AuthToken)
            .where(
                AuthToken.user_id == user_id,
                AuthToken.purpose == purpose,
                AuthToken.used_at.is_(None),
            )
            .values(used_at=now)
        )
    raw = security.new_opaque_token()
    session.add(
        AuthToken(
            user_id=user_id,
            purpose=purpose,
            token_hash=security.token_hash(raw),
            payload=payload or {},
            expires_at=now + TTL[purpose],
        )
    )
    await session.flush()
    return raw


async def redeem(session: AsyncSession, raw: str, purpose: str) -> AuthToken | None:
    """Mark the token used and return it; None if unknown, of another purpose, used or expired."""
    row = await session.execute(
        update(AuthToken)
        .where(
            AuthToken.token_hash == security.token_hash(raw),
            AuthToken.purpose == purpose,
            AuthToken.used_at.is_(None),
            AuthToken.expires_at > func.now(),
        )
        .values(used_at=func.now())
        .returning(AuthToken)
    )
    return row.scalar_one_or_none()


async def peek(session: AsyncSession, raw: str, purpose: str) -> AuthToken | None:
    """The live token without spending it (a page that only shows what the link is for)."""
    token: AuthToken | None = await session.scalar(
        select(AuthToken).where(
            AuthToken.token_hash == security.token_hash(raw),
            AuthToken.purpose == purpose,
            AuthToken.used_at.is_(None),
            AuthToken.expires_at > func.now(),
        )
    )
    return token
