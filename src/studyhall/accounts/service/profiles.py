"""Student and tutor profiles, the public tutor directory, tutor totals (no HTTP here)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import StudentProfile, TutorProfile, User
from studyhall.audit import service as audit
from studyhall.kit.cursors import decode_cursor
from studyhall.kit.errors import NotFound, Unprocessable
from studyhall.kit.paging import PageRequest


async def ensure_profile(session: AsyncSession, user: User) -> None:
    """The profile row a role needs; admins have none. Safe to call twice."""
    model: type[StudentProfile] | type[TutorProfile]
    if user.role == "student":
        model = StudentProfile
    elif user.role == "tutor":
        model = TutorProfile
    else:
        return
    await session.execute(
        insert(model).values(user_id=user.id).on_conflict_do_nothing(index_elements=["user_id"])
    )


async def student_profile(session: AsyncSession, user: User) -> StudentProfile:
    await ensure_profile(session, user)
    profile = await session.scalar(
        select(StudentProfile).where(
            StudentProfile.user_id == user.id, StudentProfile.deleted_at.is_(None)
        )
    )
    if profile is None:
        raise NotFound("This account has no student profile.", code="profile_not_found")
    return profile


async def tutor_profile(session: AsyncSession, user_id: uuid.UUID) -> TutorProfile:
    profile = await session.scalar(
        select(TutorProfile).where(
            TutorProfile.user_id == user_id, TutorProfile.deleted_at.is_(None)
        )
    )
    if profile is None:
        raise NotFound("No such tutor.", code="tutor_not_found")
    return profile


async def update_profile(
    session: AsyncSession,
    actor: User,
    profile: StudentProfile | TutorProfile,
    changes: dict[str, Any],
) -> None:
    before = {key: getattr(profile, key) for key in changes}
    for key, value in changes.items():
        setattr(profile, key, value)
    await session.flush()
    await session.refresh(profile)
    await audit.record(
        session,
        actor.id,
        f"{profile.__tablename__[:-1]}.update",
        profile.__tablename__[:-1],
        profile.id,
        audit.changes(before, changes),
    )


@dataclass(frozen=True)
class TutorTotals:
    total_sessions: int
    total_earnings_cents: int
    currency: str


async def record_tutor_earning(
    session: AsyncSession, tutor_user_id: uuid.UUID, amount_cents: int, sessions: int = 1
) -> TutorTotals:
    """Billing calls this when a tutor is paid for a session (negative ``amount`` = refund).

    One atomic UPDATE: concurrent calls add up exactly; a CHECK keeps totals from going below 0.
    The amount is in the tutor profile's currency.
    """
    if amount_cents == 0 and sessions == 0:
        raise Unprocessable("Nothing to record.", code="empty_earning")
    row = (
        await session.execute(
            update(TutorProfile)
            .where(TutorProfile.user_id == tutor_user_id, TutorProfile.deleted_at.is_(None))
            .values(
                total_earnings_cents=TutorProfile.total_earnings_cents + amount_cents,
                total_sessions=TutorProfile.total_sessions + sessions,
            )
            .returning(
                TutorProfile.id,
                TutorProfile.total_sessions,
                TutorProfile.total_earnings_cents,
                TutorProfile.currency,
            )
        )
    ).one_or_none()
    if row is None:
        raise NotFound("No such tutor.", code="tutor_not_found")
    await audit.record(
        session,
        None,
        "tutor_profile.earning",
        "tutor_profile",
        row[0],
        {"amount_cents": amount_cents, "sessions": sessions},
    )
    return TutorTotals(total_sessions=row[1], total_earnings_cents=row[2], currency=row[3])


# --- the public directory ---------------------------------------------------------------------


@dataclass(frozen=True)
class DirectoryFilter:
    subject: str | None = None
    min_price_cents: int | None = None
    max_price_cents: int | None = None
    currency: str | None = None
    min_rating: Decimal | None = None


_rating_key = TutorProfile.rating_score


def _after_rating(cursor: str) -> ColumnElement[bool]:
    """Rows after the cursor's tutor: lower score, or the same score and a later id (the score
    runs down and the id up, so ``kit.paging.after``, which needs one direction, does not fit)."""
    rating, after_id = decode_cursor(cursor, str, uuid.UUID)
    try:
        after_rating = Decimal(str(rating))
    except ArithmeticError:
        after_rating = Decimal("NaN")
    if not after_rating.is_finite() or not 0 <= after_rating <= 5:
        raise Unprocessable(
            "The cursor is not one this API returned; start again without it.",
            code="invalid_cursor",
            field="cursor",
        )
    return or_(
        _rating_key < after_rating,
        and_(_rating_key == after_rating, TutorProfile.user_id > after_id),
    )


def _directory_query(flt: DirectoryFilter) -> Select[TutorProfile, User]:
    query = (
        select(TutorProfile, User)
        .join(User, User.id == TutorProfile.user_id)
        .where(
            TutorProfile.verification_status == "verified",
            TutorProfile.is_available.is_(True),
            TutorProfile.deleted_at.is_(None),
            User.deleted_at.is_(None),
            User.status == "active",
            User.role == "tutor",
        )
    )
    if flt.subject is not None:
        query = query.where(TutorProfile.subjects.contains([flt.subject]))
    if flt.min_price_cents is not None:
        query = query.where(TutorProfile.hourly_rate_cents >= flt.min_price_cents)
    if flt.max_price_cents is not None:
        query = query.where(TutorProfile.hourly_rate_cents <= flt.max_price_cents)
    if flt.currency is not None:
        query = query.where(TutorProfile.currency == flt.currency)
    if flt.min_rating is not None:
        query = query.where(TutorProfile.rating >= flt.min_rating)
    return query


async def directory(
    session: AsyncSession,
    flt: DirectoryFilter,
    limit: int,
    cursor: str | None,
    *,
    user_id: uuid.UUID | None = None,
) -> tuple[list[tuple[TutorProfile, User]], str | None]:
    """Best rated first (the Bayesian score of ``ratings``), then by id; keyset pagination, so
    pages stay stable and cheap."""
    query = _directory_query(flt)
    if user_id is not None:
        query = query.where(TutorProfile.user_id == user_id)
    if cursor is not None:
        query = query.where(_after_rating(cursor))
    result = await session.execute(
        query.order_by(_rating_key.desc(), TutorProfile.user_id).limit(limit + 1)
    )
    rows = [(profile, user) for profile, user in result]
    return PageRequest(limit=limit, cursor=cursor).of(
        rows, lambda row: (str(row[0].rating_score), row[0].user_id)
    )
