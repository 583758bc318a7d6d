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


_HIT = text(
    """
    INSERT INTO auth_rate_limits (bucket, window_start, attempts)
    VALUES (:bucket, to_timestamp(floor(extract(epoch FROM now()) / :w) * :w), 1)
    ON CONFLICT (bucket, window_start)
    DO UPDATE SET attempts = auth_rate_limits.attempts + 1
    RETURNING attempts, window_start, now()
    """
)

_GIVE_BACK = text(
    """
    UPDATE auth_rate_limits SET attempts = attempts - 1
    WHERE bucket = :bucket AND attempts > 0
      AND window_start = to_timestamp(floor(extract(epoch FROM now()) / :w) * :w)
    """
)


async def hit(database: Database, limits: list[Limit], detail: str) -> None:
    """Count one attempt against every limit; 429 with Retry-After if any is exceeded.

    Call it before the request's session touches the database, so the two connections are
    never held together.
    """
    retry_after: int | None = None
    async with database.transaction() as session:
        for limit in limits:
            row = (await session.execute(_HIT, {"bucket": limit.bucket, "w": limit.window_s})).one()
            attempts, window_start, now = row
            if attempts > limit.max_attempts:
                window_end: datetime = window_start + timedelta(seconds=limit.window_s)
                wait = int((window_end - now).total_seconds()) + 1
                retry_after = max(retry_after or 0, wait)
                if wait > 0:
                    await session.execute(
                        text(
                            "UPDATE auth_rate_limits SET locked_until = :until "
                            "WHERE bucket = :bucket AND window_start = :start"
                        ),
                        {"until": window_end, "bucket": limit.bucket, "start": window_start},
                    )
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
