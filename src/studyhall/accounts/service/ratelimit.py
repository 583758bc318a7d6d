"""Brute-force limits kept in PostgreSQL, so every API process counts the same attempts.

Fixed windows: one counter row per (bucket, window). An attempt is counted *before* the
password is checked (one atomic upsert), so N concurrent guesses cannot slip past a limit of
N - k; a successful sign-in hands its attempt back. Counters are written on their own
connection because the request's transaction rolls back when the attempt fails.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.db.engine import Database
from studyhall.kit.errors import RateLimited


@dataclass(frozen=True)
class Limit:
    bucket: str
    max_attempts: int
    window_s: int


def account_key(email: str) -> str:
    """Buckets name accounts by a hash: the counters table holds no email addresses."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


# The API role cannot read or write the counters themselves (row level security: only the
# housekeeping job, which crosses users, sees them); these functions count and hand back one
# attempt in the bucket's current window (migration ``0027_rls_accounts``).
_HIT = text("SELECT * FROM studyhall_rate_limit_hit(:bucket, :w, :max)")
_GIVE_BACK = text("SELECT studyhall_rate_limit_give_back(:bucket, :w)")


async def hit(database: Database, limits: list[Limit], detail: str) -> None:
    """Count one attempt against every limit; 429 with Retry-After if any is exceeded.

    Call it before the request's session touches the database, so the two connections are
    never held together.
    """
    retry_after: int | None = None
    async with database.transaction() as session:
        for limit in limits:
            params = {"bucket": limit.bucket, "w": limit.window_s, "max": limit.max_attempts}
            attempts, window_start, now = (await session.execute(_HIT, params)).one()
            if attempts > limit.max_attempts:
                window_end: datetime = window_start + timedelta(seconds=limit.window_s)
                wait = int((window_end - now).total_seconds()) + 1
                retry_after = max(retry_after or 0, wait)
    if retry_after is not None:
        raise RateLimited(detail, retry_after_s=retry_after, code="too_many_attempts")


async def give_back(session: AsyncSession, limits: list[Limit]) -> None:
    """A successful attempt does not count towards the limit.

    Runs in the request's own transaction: the attempt is handed back only if the sign-in
    commits, and the request never holds two pooled connections at once (32 concurrent
    sign-ins each waiting for a second connection would starve the pool).
    """
    for limit in limits:
        await session.execute(_GIVE_BACK, {"bucket": limit.bucket, "w": limit.window_s})
