"""Whose guardian a person is: the users whose standing consent names that person's e-mail.

The standing consent is the latest consent row of a user (rows are append-only), and only a given
one counts, so a withdrawn or replaced consent takes the ward off the list at once. Consents are
other users' rows: the caller's unit of work crosses users from its start.
"""

from __future__ import annotations

from sqlalchemy import Select, exists, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from studyhall.accounts.models import GuardianConsent, User

# A guardian's list is short; the page shows at most this many, by name.
WARDS_SHOWN = 100


def _wards_of(guardian: User) -> Select[User]:
    standing = aliased(GuardianConsent)
    newer = aliased(GuardianConsent)
    replaced = exists().where(
        newer.user_id == standing.user_id,
        tuple_(newer.created_at, newer.id) > tuple_(standing.created_at, standing.id),
    )
    return (
        select(User)
        .join(standing, standing.user_id == User.id)
        .where(
            standing.guardian_email == guardian.email,  # citext: compared case-insensitively
            standing.consent_given,
            ~replaced,
            User.deleted_at.is_(None),
        )
    )


async def wards(session: AsyncSession, guardian: User) -> list[User]:
    """The guardian's wards by name (at most ``WARDS_SHOWN``)."""
    by_name = _wards_of(guardian).order_by(User.name, User.id).limit(WARDS_SHOWN)
    rows = await session.scalars(by_name)
    return list(rows)


async def is_guardian(session: AsyncSession, guardian: User) -> bool:
    """True when at least one user's standing consent names the guardian."""
    return bool(await session.scalar(select(exists(_wards_of(guardian)))))
