"""HTTP for reviews: students write them, tutors reply, admins hide, everyone reads."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from studyhall.accounts.deps import Admin, CurrentUser, OptionalUser, Tutor
from studyhall.db.deps import Session
from studyhall.db.rls import SystemSession
from studyhall.kit.paging import PageQuery
from studyhall.scheduling.schemas import (
    AdminReviewPage,
    AdminReviewRead,
    PublicReviewRead,
    ReviewCreate,
    ReviewHide,
    ReviewPage,
    ReviewRead,
    ReviewReply,
    ReviewUpdate,
)
from studyhall.scheduling.service import reviews
from studyhall.scheduling.service.clock import utcnow

router = APIRouter()


@router.post(
    "/bookings/{booking_id}/review",
    status_code=status.HTTP_201_CREATED,
    summary="Review a completed booking",
)
async def booking_review_create(
    booking_id: uuid.UUID, data: ReviewCreate, user: CurrentUser, session: Session
) -> ReviewRead:
    """The booking's student rates it 1 to 5 stars, with optional text, once per booking."""
    review = await reviews.create_review(
        session, user, booking_id, data.rating, data.body, utcnow()
    )
    return ReviewRead.model_validate(review)


@router.get("/reviews/{review_id}", summary="Get one review")
async def review_get(review_id: uuid.UUID, user: OptionalUser, session: Session) -> ReviewRead:
    """A visible review for anyone; a hidden one only for its parties and admins."""
    return ReviewRead.model_validate(await reviews.get_review(session, user, review_id))


@router.patch("/reviews/{review_id}", summary="Edit your review")
async def review_update(
    review_id: uuid.UUID, data: ReviewUpdate, user: CurrentUser, session: Session
) -> ReviewRead:
    """Its student changes the rating or text while the review is still editable."""
    changes = data.model_dump(exclude_unset=True)
    review = await reviews.update_review(session, user, review_id, changes, utcnow())
    return ReviewRead.model_validate(review)


@router.post("/reviews/{review_id}/reply", summary="Reply to a review")
async def review_reply(
    review_id: uuid.UUID, data: ReviewReply, tutor: Tutor, session: Session
) -> ReviewRead:
    """The reviewed tutor answers, once."""
    review = await reviews.reply(session, tutor, review_id, data.body, utcnow())
    return ReviewRead.model_validate(review)


@router.post("/reviews/{review_id}/hide", summary="Hide a review")
async def review_hide(
    review_id: uuid.UUID, data: ReviewHide, admin: Admin, session: Session
) -> ReviewRead:
    """An admin hides a review with a reason (audited); it is kept, and the tutor's rating
    follows from the visible reviews only."""
    review = await reviews.set_hidden(session, admin, review_id, data.reason, utcnow())
    return ReviewRead.model_validate(review)


@router.post("/reviews/{review_id}/unhide", summary="Show a hidden review again")
async def review_unhide(review_id: uuid.UUID, admin: Admin, session: Session) -> ReviewRead:
    """An admin makes a hidden review visible again (audited); takes no body."""
    review = await reviews.set_hidden(session, admin, review_id, None, utcnow())
    return ReviewRead.model_validate(review)


@router.get("/admin/reviews", summary="List every review, hidden ones too (admin)")
async def admin_reviews_list(
    admin: Admin, session: SystemSession, page: PageQuery, hidden: bool | None = None
) -> AdminReviewPage:
    """Every review, newest first, with both parties' names; ``hidden=true`` lists the hidden
    ones, ``false`` the visible ones."""
    items, next_cursor = await reviews.reviews_for_admin(session, page, hidden=hidden)
    return AdminReviewPage(
        items=[
            AdminReviewRead(
                **ReviewRead.model_validate(item.review).model_dump(),
                student_name=item.student_name,
                tutor_name=item.tutor_name,
            )
            for item in items
        ],
        next_cursor=next_cursor,
    )


@router.get("/tutors/{tutor_id}/reviews", summary="List a tutor's reviews (public)")
async def tutor_reviews_list(tutor_id: uuid.UUID, session: Session, page: PageQuery) -> ReviewPage:
    """A tutor's visible reviews, newest first; reviewers show by first name."""
    items, next_cursor = await reviews.visible_reviews(session, tutor_id, page)
    return ReviewPage(
        items=[
            PublicReviewRead(
                id=item.review.id,
                reviewer_name=item.reviewer_name,
                rating=item.review.rating,
                body=item.review.body,
                tutor_reply=item.review.tutor_reply,
                tutor_replied_at=item.review.tutor_replied_at,
                created_at=item.review.created_at,
                updated_at=item.review.updated_at,
            )
            for item in items
        ],
        next_cursor=next_cursor,
    )
