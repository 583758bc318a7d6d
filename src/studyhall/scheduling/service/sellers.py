"""Who may sell: only a tutor whose account is active and whose profile is verified and
available has offerings and slots that are listed or bookable.

Verification is the platform's promise to students, so an unverified (pending) tutor sells only
where ``STUDYHALL_SELL_UNVERIFIED_TUTORS`` says so (small deployments); a rejected one never does.
The rule is written twice, once for SQL text (the slot listing) and once for the ORM (offerings),
side by side here so the two cannot drift apart unnoticed.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, exists, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from studyhall.accounts.models import TutorProfile, User
from studyhall.kit.errors import Conflict
from studyhall.scheduling.config import scheduling_settings


def seller_statuses() -> list[str]:
    """The verification statuses that may sell under the current settings."""
    if scheduling_settings().sell_unverified_tutors:
        return ["verified", "pending"]
    return ["verified"]


# The account part reads the user row itself (``{user}`` is its alias), so under FOR SHARE it is
# re-checked against the row version that a suspension or deletion committed.
_ACCOUNT_OK = "{user}.status = 'active' AND {user}.deleted_at IS NULL"
_PROFILE_OK = """EXISTS (
            SELECT 1 FROM tutor_profiles sp
            WHERE sp.user_id = {user}.id AND sp.deleted_at IS NULL AND sp.is_available
              AND sp.verification_status = ANY(CAST(:seller_statuses AS text[])))"""


def _seller_row(user: str) -> str:
    return f"{_ACCOUNT_OK.format(user=user)} AND {_PROFILE_OK.format(user=user)}"


def sellable_sql(tutor_column: str) -> str:
    """An SQL condition on ``tutor_column``; binds ``:seller_statuses`` (``seller_params``)."""
    return f"EXISTS (SELECT 1 FROM users su WHERE su.id = {tutor_column} AND {_seller_row('su')})"


def seller_params() -> dict[str, Any]:
    return {"seller_statuses": seller_statuses()}


def sellable(
    tutor_id: ColumnElement[uuid.UUID] | QueryableAttribute[uuid.UUID],
) -> ColumnElement[bool]:
    """The same condition for ORM queries."""
    return exists().where(
        User.id == tutor_id,
        User.status == "active",
        User.deleted_at.is_(None),
        TutorProfile.user_id == User.id,
        TutorProfile.deleted_at.is_(None),
        TutorProfile.is_available.is_(True),
        TutorProfile.verification_status.in_(seller_statuses()),
    )


# FOR SHARE of the tutor's user row: a suspension or deletion (an UPDATE of that row) waits for
# a booking that is checking it, and a booking that comes after sees the new status. So every
# booking either is refused or commits before the closure, where the job that cancels the
# tutor's bookings finds it.
# The tutor's standing meeting link comes back with the check: a new booking needs it, and it
# costs no statement of its own.
_LOCK_SELLER = text(
    "SELECT t.id, (SELECT sp.meeting_link FROM tutor_profiles sp"
    " WHERE sp.user_id = t.id AND sp.deleted_at IS NULL LIMIT 1) AS meeting_link"
    f" FROM users t WHERE t.id = :tutor_id AND {_seller_row('t')} FOR SHARE OF t"
)


async def require_seller(session: AsyncSession, tutor_id: uuid.UUID) -> str | None:
    """Refuse a booking of a tutor who may not sell right now (409 ``tutor_not_bookable``);
    for one who may, their standing meeting link (None when they set none)."""
    found = (await session.execute(_LOCK_SELLER, {"tutor_id": tutor_id, **seller_params()})).first()
    if found is None:
        raise Conflict("This tutor is not taking bookings.", code="tutor_not_bookable")
    link: str | None = found.meeting_link
    return link
