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
from studyhall.db.engine import set_current_user

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


async def _act_for_holder(session: AsyncSession, token_hash: str, purpose: str) -> bool:
    """Whether a live token of ``purpose`` has this hash; if so the transaction acts for its owner
    from now on (the link was mailed to them, holding it is the proof). Before that nothing of
    the table is visible: a function answers with the owner of a live token and nothing else."""
    holder = await session.scalar(select(func.studyhall_auth_token_holder(token_hash, purpose)))
    if holder is None:
        return False
    await set_current_user(session, holder)
    return True


async def redeem(session: AsyncSession, raw: str, purpose: str) -> AuthToken | None:
    """Mark the token used and return it; None if unknown, of another purpose, used or expired."""
    token_hash = security.token_hash(raw)
    if not await _act_for_holder(session, token_hash, purpose):
        return None
    row = await session.execute(
        update(AuthToken)
        .where(
            AuthToken.token_hash == token_hash,
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
    token_hash = security.token_hash(raw)
    if not await _act_for_holder(session, token_hash, purpose):
        return None
    token: AuthToken | None = await session.scalar(
        select(AuthToken).where(
            AuthToken.token_hash == token_hash,
            AuthToken.purpose == purpose,
            AuthToken.used_at.is_(None),
            AuthToken.expires_at > func.now(),
        )
    )
    return token
