"""Accounts housekeeping: spent credentials go, and deleted accounts lose their personal data
once the grace period is over (no HTTP here; ``accounts.jobs`` runs these daily)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.events import AccountErased
from studyhall.accounts.service import closures
from studyhall.kit.events import emit

# Kept a while after expiry so a late "this link is invalid" can still be investigated.
SPENT_TOKEN_RETENTION_DAYS = 7


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


async def erase_personal_data(session: AsyncSession, after_days: int) -> int:
    """GDPR erasure: accounts deleted ``after_days`` ago keep their id (audit, ledgers and
    bookings point at it) but lose everything that identifies a person. This domain rewrites the
    ``users`` row; the other domains and storage react to ``AccountErased`` in this same
    transaction (privacy erases the person everywhere else). The wind-down runs once more (it
    changes nothing if the deletion's own run finished; it catches accounts deleted before
    bookings and subscriptions were wound down on deletion)."""
    erased = await session.execute(
        text(
            """
            WITH old AS (
                SELECT id, name, email FROM users
                WHERE deleted_at < now() - make_interval(days => :days)
                  AND email NOT LIKE 'erased-%@erased.invalid'
                FOR UPDATE
            )
            UPDATE users SET
                email = 'erased-' || users.id || '@erased.invalid', name = 'Erased user',
                first_name = NULL, last_name = NULL, avatar_url = NULL, phone = NULL,
                date_of_birth = NULL, auth_provider_id = NULL,
                password_hash = CASE WHEN password_hash IS NULL THEN NULL ELSE '!' END
            FROM old WHERE users.id = old.id
            RETURNING users.id, old.name, old.email
            """
        ),
        {"days": after_days},
    )
    people = erased.all()
    for user_id, name, email in people:
        await emit(session, AccountErased(user_id=user_id, name=name, email=str(email)))
    for user_id, _, _ in people:
        await closures.account_closed(session, user_id, "deleted")
    return len(people)
