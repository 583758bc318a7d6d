"""HTTP for reviews: students write them, tutors reply, admins hide, everyone reads."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from studyhall.accounts.deps import Admin, CurrentUser, OptionalUser, Tutor
from studyhall.db.deps import Session
from studyhall.scheduling.schemas import (
    PublicReviewRead,
    ReviewCreate,
    ReviewHide,
    ReviewPage,
    ReviewRead,
    ReviewReply,
    ReviewUpdate,
)
from studyhall.scheduling.service import reviews
from studyhall.scheduling.service.common import utcnow

router = APIRouter(tags=["reviews"])


@router.post(
    "/bookings/{booking_id}/review",
    status_code=status.HTTP_201_CREATED,
    summary="Review a completed booking (its student, once)",
)
async def create_review(
    booking_id: uuid.UUID, data: ReviewCreate, user: CurrentUser, session: Session
) -> ReviewRead:
    review = await reviews.create_review(
        session, user, booking_id, data.rating, data.body, utcnow()
    )
    return ReviewRead.model_validate(review)


@router.get("/reviews/{review_id}", summary="One review (hidden ones: its parties and admins)")
async def get_review(review_id: uuid.UUID, user: OptionalUser, session: Session) -> ReviewRead:
    return ReviewRead.model_validate(await reviews.get_review(session, user, review_id))


@router.patch("/reviews/{review_id}", summary="Change your review while it is editable")
async def update_review(
    review_id: uuid.UUID, data: ReviewUpdate, user: CurrentUser, session: Session
) -> ReviewRead:
    changes = data.model_dump(exclude_unset=True)
    review = await reviews.update_review(session, user, review_id, changes, utcnow())
    return ReviewRead.model_validate(review)


@router.post("/reviews/{review_id}/reply", summary="Reply to a review of you (tutor, once)")
async def reply_to_review(
    review_id: uuid.UUID, data: ReviewReply, tutor: Tutor, session: Session
) -> ReviewRead:
    review = await reviews.reply(session, tutor, review_id, data.body, utcnow())
    return ReviewRead.model_validate(review)


@router.post("/reviews/{review_id}/hide", summary="Hide a review (admin; audited, kept)")
async def hide_review(
    review_id: uuid.UUID, data: ReviewHide, admin: Admin, session: Session
) -> ReviewRead:
    review = await reviews.set_hidden(session, admin, review_id, data.reason, utcnow())
    return ReviewRead.model_validate(review)


@router.post("/reviews/{review_id}/unhide", summary="Show a hidden review again (admin)")
async def unhide_review(review_id: uuid.UUID, admin: Admin, session: Session) -> ReviewRead:
    review = await reviews.set_hidden(session, admin, review_id, None, utcnow())
    return ReviewRead.model_validate(review)


@router.get("/tutors/{tutor_id}/reviews", summary="A tutor's visible reviews, newest first")
async def list_tutor_reviews(
    tutor_id: uuid.UUID,
    session: Session,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> ReviewPage:
    items, next_cursor = await reviews.visible_reviews(session, tutor_id, limit, cursor)
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
