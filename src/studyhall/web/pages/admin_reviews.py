"""Admin page for reviews: every review (hidden ones too), newest first; hide one with a reason
or show it again. Hiding keeps the review and takes it out of the tutor's rating.

Both call ``scheduling.service.set_hidden`` with the admin, as ``POST /api/v1/reviews/{id}/hide``
and ``/unhide`` do, so the rating update and the audit entry are the API's.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from studyhall.db.rls import SystemSession
from studyhall.kit.errors import Unprocessable
from studyhall.kit.paging import PageRequest
from studyhall.scheduling import service as scheduling
from studyhall.scheduling.schemas import ReviewHide
from studyhall.web.messages import notice
from studyhall.web.pages.admin import AdminPage, form_text
from studyhall.web.rendering import render

router = APIRouter()

PAGE_SIZE = 25
Shown = Literal["", "visible", "hidden"]
Notice = Annotated[str | None, Query(alias="notice", max_length=40)]


@router.get("/admin/reviews", include_in_schema=False)
async def admin_reviews_page(
    page: AdminPage,
    session: SystemSession,
    shown: Shown = "",
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    notice_key: Notice = None,
) -> Response:
    items, next_cursor = await scheduling.reviews_for_admin(
        session,
        PageRequest(limit=PAGE_SIZE, cursor=cursor),
        hidden=None if not shown else shown == "hidden",
    )
    return render(
        page,
        "admin_reviews.html",
        reviews=items,
        shown=shown,
        more=urlencode({"shown": shown, "cursor": next_cursor}) if next_cursor else None,
        notice=notice(page.viewer, notice_key),
    )


@router.post("/admin/reviews/{review_id}/hide", include_in_schema=False)
async def admin_review_hide(
    review_id: uuid.UUID, request: Request, page: AdminPage, session: SystemSession
) -> Response:
    assert page.user is not None
    try:
        data = ReviewHide(reason=form_text(await request.form(), "reason"))
    except ValidationError as exc:
        raise Unprocessable(
            "Give a reason for hiding the review.", code="hide_reason_required"
        ) from exc
    await scheduling.set_hidden(session, page.user, review_id, data.reason, scheduling.utcnow())
    return RedirectResponse("/admin/reviews?notice=review_hidden", status_code=303)


@router.post("/admin/reviews/{review_id}/show", include_in_schema=False)
async def admin_review_show(
    review_id: uuid.UUID, page: AdminPage, session: SystemSession
) -> Response:
    assert page.user is not None
    await scheduling.set_hidden(session, page.user, review_id, None, scheduling.utcnow())
    return RedirectResponse("/admin/reviews?notice=review_shown", status_code=303)
