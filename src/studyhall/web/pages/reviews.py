"""Reviews in the web app: the booking's student rates a completed lesson (and may change the
review while it is editable), the tutor replies once, and a tutor's reviews are listed.

The forms go through the same schemas and scheduling services as the API's review routes, so
the same limits (stars, text length, the edit window, one reply) hold. Hiding a review is an
admin action the API offers; the web app has no admin pages.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import ValidationError
from sqlalchemy import select
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from studyhall.accounts import service as profiles
from studyhall.db.deps import Session
from studyhall.kit.errors import Unprocessable
from studyhall.kit.paging import PageRequest
from studyhall.scheduling import service as scheduling
from studyhall.scheduling.models import Review
from studyhall.scheduling.schemas import ReviewCreate, ReviewReply, ReviewUpdate
from studyhall.web.deps import MemberPage
from studyhall.web.messages import notice
from studyhall.web.pages.teaching import TutorPage
from studyhall.web.rendering import render

router = APIRouter()

Notice = Annotated[str | None, Query(alias="notice", max_length=40)]
REVIEWS_SHOWN = 20


async def review_of_booking(session: Session, booking_id: uuid.UUID) -> Review | None:
    """The booking's review, for a page that has already checked the viewer is a party to it."""
    review: Review | None = await session.scalar(
        select(Review).where(Review.booking_id == booking_id)
    )
    return review


def review_state(review: Review | None, viewer_id: uuid.UUID, now: datetime) -> dict[str, Any]:
    """What the booking page may offer around a review: edit while the window is open (its
    student), a reply while there is none (its tutor)."""
    if review is None:
        return {"review": None, "review_editable": False, "may_reply": False}
    return {
        "review": review,
        "review_editable": (
            review.student_id == viewer_id
            and review.hidden_at is None
            and now < review.editable_until
        ),
        "may_reply": review.tutor_id == viewer_id and review.tutor_reply is None,
    }


async def public_reviews(
    session: Session, tutor_id: uuid.UUID
) -> tuple[list[scheduling.PublicReview], bool]:
    """The first page of a tutor's visible reviews, newest first, and whether more follow."""
    items, more = await scheduling.visible_reviews(
        session, tutor_id, PageRequest(limit=REVIEWS_SHOWN, cursor=None)
    )
    return items, more is not None


def _text(form: FormData, name: str) -> str | None:
    value = form.get(name)
    text = value.strip() if isinstance(value, str) else ""
    return text or None


def _stars(form: FormData) -> int | str | None:
    value = _text(form, "rating")
    if value is None:
        return None
    return int(value) if value.isdigit() else value


def _invalid() -> Unprocessable:
    return Unprocessable(
        "Choose 1 to 5 stars; the text must not be longer than the form allows.",
        code="review_invalid",
    )


def _back(booking_id: uuid.UUID, key: str) -> RedirectResponse:
    return RedirectResponse(f"/bookings/{booking_id}?notice={key}#review", status_code=303)


@router.post("/bookings/{booking_id}/review", include_in_schema=False)
async def review_create(
    booking_id: uuid.UUID, request: Request, page: MemberPage, session: Session
) -> Response:
    assert page.user is not None
    form = await request.form()
    try:
        data = ReviewCreate.model_validate({"rating": _stars(form), "body": _text(form, "body")})
    except ValidationError as exc:
        raise _invalid() from exc
    await scheduling.create_review(
        session, page.user, booking_id, data.rating, data.body, scheduling.utcnow()
    )
    return _back(booking_id, "review_saved")


@router.post("/reviews/{review_id}/edit", include_in_schema=False)
async def review_update(
    review_id: uuid.UUID, request: Request, page: MemberPage, session: Session
) -> Response:
    assert page.user is not None
    form = await request.form()
    try:
        # An emptied text box clears the words; the stars stay required.
        data = ReviewUpdate.model_validate({"rating": _stars(form), "body": _text(form, "body")})
    except ValidationError as exc:
        raise _invalid() from exc
    if data.rating is None:
        raise _invalid()
    review = await scheduling.update_review(
        session,
        page.user,
        review_id,
        {"rating": data.rating, "body": data.body},
        scheduling.utcnow(),
    )
    return _back(review.booking_id, "review_saved")


@router.post("/reviews/{review_id}/reply", include_in_schema=False)
async def review_reply(
    review_id: uuid.UUID, request: Request, page: TutorPage, session: Session
) -> Response:
    assert page.user is not None
    try:
        data = ReviewReply.model_validate({"body": _text(await request.form(), "body") or ""})
    except ValidationError as exc:
        raise Unprocessable("Write a reply.", code="reply_required") from exc
    review = await scheduling.reply_to_review(
        session, page.user, review_id, data.body, scheduling.utcnow()
    )
    back = request.query_params.get("back")
    if back == "teach":
        return RedirectResponse("/teach/reviews?notice=reply_saved", status_code=303)
    return _back(review.booking_id, "reply_saved")


@router.get("/teach/reviews", include_in_schema=False)
async def tutor_reviews_page(
    page: TutorPage, session: Session, notice_key: Notice = None
) -> Response:
    assert page.user is not None
    await profiles.ensure_profile(session, page.user)
    profile = await profiles.tutor_profile(session, page.user.id)
    items, more = await public_reviews(session, page.user.id)
    return render(
        page,
        "teach_reviews.html",
        profile=profile,
        reviews=items,
        more_reviews=more,
        notice=notice(page.viewer, notice_key),
    )
