"""Accounts housekeeping: spent credentials and old rate-limit windows are deleted daily."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.jobs.core import queue, runtime

# Kept a while after expiry so a late "this link is invalid" can still be investigated.
SPENT_TOKEN_RETENTION_DAYS = 7


@queue.periodic(cron="41 3 * * *")
@queue.task(name="studyhall.accounts.purge_expired_credentials", queue="maintenance")
async def purge_expired_credentials(timestamp: int) -> None:
    async with runtime().database.transaction() as session:
        await purge(session)


async def purge(session: AsyncSession) -> dict[str, int]:
    """Delete expired emailed tokens, refresh tokens and rate-limit windows; counts by table."""
    counts = {}
    for table, condition in (
        ("auth_tokens", "expires_at < now() - make_interval(days => :days)"),
        ("refresh_tokens", "expires_at < now() - make_interval(days => :days)"),
        ("auth_rate_limits", "window_start < now() - interval '1 day'"),
    ):
        result = await session.execute(
            text(f"DELETE FROM {table} WHERE {condition}"), {"days": SPENT_TOKEN_RETENTION_DAYS}
        )
        counts[table] = int(getattr(result, "rowcount", 0) or 0)
    return counts
