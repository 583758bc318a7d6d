"""Reviews of completed bookings and the tutor rating they make (no HTTP here).

A student reviews a booking of theirs once it is completed: one review per booking (a unique
constraint), editable for ``review_edit_window_hours`` and frozen afterwards. The tutor may reply
once. An admin may hide a review (audited); hidden reviews stay stored but leave the public
listing and the tutor's rating. Every change that can move the rating recounts the tutor's
visible reviews under the tutor profile's row lock (``accounts.ratings``), so concurrent reviews
and hides always leave the exact totals.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from studyhall.accounts import service as ratings
from studyhall.accounts.models import User
from studyhall.audit import service as audit
from studyhall.kit.errors import Conflict, Forbidden, NotFound
from studyhall.kit.paging import PageRequest, after
from studyhall.scheduling.config import scheduling_settings
from studyhall.scheduling.models import Review
from studyhall.scheduling.service.bookings import get_booking


async def create_review(
    session: AsyncSession,
    student: User,
    booking_id: uuid.UUID,
    rating: int,
    body: str | None,
    now: datetime,
) -> Review:
    booking = await get_booking(session, student, booking_id)
    if student.id != booking.student_id:
        raise Forbidden("Only the booking's student may review it.", code="review_not_allowed")
    if booking.status != "completed":
        raise Conflict(
            "A booking can be reviewed once it is completed.", code="booking_not_completed"
        )
    window = timedelta(hours=scheduling_settings().review_edit_window_hours)
    review_id = await session.scalar(
        insert(Review)
        .values(
            booking_id=booking.id,
            tutor_id=booking.tutor_id,
            student_id=student.id,
            rating=rating,
            body=body,
            editable_until=now + window,
        )
        .on_conflict_do_nothing(index_elements=["booking_id"])
        .returning(Review.id)
    )
    if review_id is None:
        raise Conflict("This booking already has a review.", code="review_exists")
    await refresh_tutor_rating(session, booking.tutor_id)
    await audit.record(
        session, student.id, "review.create", "review", review_id, {"rating": rating}
    )
    return await _load(session, review_id)


async def update_review(
    session: AsyncSession,
    student: User,
    review_id: uuid.UUID,
    changes: dict[str, Any],
    now: datetime,
) -> Review:
    review = await _load(session, review_id, lock=True)
    if review.student_id != student.id:
        raise NotFound("No such review.", code="review_not_found")
    if now >= review.editable_until:
        raise Conflict("The review can no longer be changed.", code="review_frozen")
    if review.hidden_at is not None:
        raise Conflict("A hidden review cannot be changed.", code="review_hidden")
    before = {key: getattr(review, key) for key in changes}
    for key, value in changes.items():
        setattr(review, key, value)
    await session.flush()
    if "rating" in changes:
        await refresh_tutor_rating(session, review.tutor_id)
    await audit.record(
        session, student.id, "review.update", "review", review.id, audit.changes(before, changes)
    )
    return await _load(session, review.id)


async def reply(
    session: AsyncSession, tutor: User, review_id: uuid.UUID, body: str, now: datetime
) -> Review:
    """The tutor's one public answer; a second reply is refused even when two race."""
    review = await _load(session, review_id)
    if review.tutor_id != tutor.id:
        raise NotFound("No such review.", code="review_not_found")
    answered = await session.scalar(
        update(Review)
        .where(Review.id == review_id, Review.tutor_reply.is_(None))
        .values(tutor_reply=body, tutor_replied_at=now)
        .returning(Review.id)
    )
    if answered is None:
        raise Conflict("You have already replied to this review.", code="reply_exists")
    await audit.record(session, tutor.id, "review.reply", "review", review_id)
    return await _load(session, review_id)


async def set_hidden(
    session: AsyncSession,
    admin: User,
    review_id: uuid.UUID,
    reason: str | None,
    now: datetime,
) -> Review:
    """Hide (``reason`` given) or show again (``reason`` None) a review; audited either way."""
    review = await _load(session, review_id, lock=True)
    was_hidden = review.hidden_at is not None
    if reason is None:
        review.hidden_at, review.hidden_by, review.hidden_reason = None, None, None
    else:
        review.hidden_at, review.hidden_by, review.hidden_reason = now, admin.id, reason
    await session.flush()
    if was_hidden != (reason is not None):
        await refresh_tutor_rating(session, review.tutor_id)
    action = "review.unhide" if reason is None else "review.hide"
    await audit.record(session, admin.id, action, "review", review.id, {"reason": reason})
    return await _load(session, review.id)


async def get_review(session: AsyncSession, viewer: User | None, review_id: uuid.UUID) -> Review:
    """Anyone sees a visible review; a hidden one only its student, its tutor and admins."""
    review = await _load(session, review_id)
    if review.hidden_at is not None and not _may_see_hidden(viewer, review):
        raise NotFound("No such review.", code="review_not_found")
    return review


def _may_see_hidden(viewer: User | None, review: Review) -> bool:
    if viewer is None:
        return False
    return viewer.role == "admin" or viewer.id in (review.student_id, review.tutor_id)


async def refresh_tutor_rating(session: AsyncSession, tutor_id: uuid.UUID) -> None:
    """Lock, then count: the order that makes concurrent writers converge on exact totals (one
    database function does both, since the writer of a review may not write the profile)."""
    await ratings.refresh_rating(session, tutor_id)


async def _load(session: AsyncSession, review_id: uuid.UUID, *, lock: bool = False) -> Review:
    review = await session.get(Review, review_id, populate_existing=True, with_for_update=lock)
    if review is None:
        raise NotFound("No such review.", code="review_not_found")
    return review


# --- the public listing -----------------------------------------------------------------------


@dataclass(frozen=True)
class PublicReview:
    review: Review
    reviewer_name: str


async def visible_reviews(
    session: AsyncSession, tutor_id: uuid.UUID, page: PageRequest
) -> tuple[list[PublicReview], str | None]:
    """A tutor's visible reviews, newest first; keyset pages so a new review shifts nothing."""
    query = (
        select(Review, User.name)
        .join(User, User.id == Review.student_id)
        .where(Review.tutor_id == tutor_id, Review.hidden_at.is_(None))
    )
    keyset = after(
        (Review.created_at.expression, Review.id.expression),
        page.key(datetime, uuid.UUID),
        descending=True,
    )
    if keyset is not None:
        query = query.where(keyset)
    result = await session.execute(
        query.order_by(Review.created_at.desc(), Review.id.desc()).limit(page.limit + 1)
    )
    items = [PublicReview(review, _first_name(name)) for review, name in result]
    return page.of(items, lambda item: (item.review.created_at, item.review.id))


def _first_name(name: str) -> str:
    """Reviews are public: the reviewer shows by first name only."""
    return name.split()[0] if name.split() else name


# --- the admins' listing ------------------------------------------------------------------------


@dataclass(frozen=True)
class ModeratedReview:
    review: Review
    student_name: str
    tutor_name: str


async def reviews_for_admin(
    session: AsyncSession, page: PageRequest, *, hidden: bool | None = None
) -> tuple[list[ModeratedReview], str | None]:
    """Admins: every review, hidden ones included (``hidden`` narrows to them or to the visible
    ones), newest first, with both parties' full names. The caller has declared cross-user
    work."""
    student, tutor = aliased(User), aliased(User)
    query = (
        select(Review, student.name, tutor.name)
        .join(student, student.id == Review.student_id)
        .join(tutor, tutor.id == Review.tutor_id)
    )
    if hidden is not None:
        query = query.where(Review.hidden_at.is_not(None) if hidden else Review.hidden_at.is_(None))
    keyset = after(
        (Review.created_at.expression, Review.id.expression),
        page.key(datetime, uuid.UUID),
        descending=True,
    )
    if keyset is not None:
        query = query.where(keyset)
    result = await session.execute(
        query.order_by(Review.created_at.desc(), Review.id.desc()).limit(page.limit + 1)
    )
    items = [ModeratedReview(review, who, whom) for review, who, whom in result]
    return page.of(items, lambda item: (item.review.created_at, item.review.id))
