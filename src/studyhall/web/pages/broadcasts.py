"""Admin page: send a system update to one role or everyone, and follow the recent ones.

Sending calls ``notifications.service.start_broadcast`` as ``POST /api/v1/admin/notifications/
broadcast`` does, under an idempotency key made when the form is drawn: a double click, or the
form sent again from the browser's history, messages everyone once.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from studyhall.db.rls import SystemSession
from studyhall.kit import idempotency
from studyhall.kit.errors import Unprocessable
from studyhall.notifications import service as notifications
from studyhall.notifications.schemas import BroadcastCreate, BroadcastRead
from studyhall.web.errors import FormInvalid
from studyhall.web.messages import FIELD_FALLBACK, notice
from studyhall.web.pages.admin import AdminPage
from studyhall.web.rendering import Visit, render

router = APIRouter()

# The API's scope: a key used by either answers the same broadcast.
SCOPE = "POST /admin/notifications/broadcast"
RECENT = 20


async def _recent(session: SystemSession) -> list[dict[str, Any]]:
    rows = await notifications.latest_broadcasts(session, RECENT, None)
    return [
        {
            "title": row.title,
            "role": row.role,
            "recipients": row.recipients,
            "users_reached": row.users_reached,
            "finished_at": row.finished_at,
            "created_at": row.created_at,
        }
        for row in rows
    ]


async def _page(page: Visit, session: SystemSession, **context: Any) -> dict[str, Any]:
    return {
        "broadcasts": await _recent(session),
        "idempotency_key": str(uuid.uuid4()),
        "values": {"title": "", "body": "", "role": ""},
        "errors": {},
        **context,
    }


@router.get("/admin/broadcasts", include_in_schema=False)
async def broadcasts_page(
    page: AdminPage,
    session: SystemSession,
    notice_key: Annotated[str | None, Query(alias="notice", max_length=40)] = None,
) -> Response:
    context = await _page(page, session, notice=notice(page.viewer, notice_key))
    return render(page, "admin_broadcasts.html", **context)


@router.post("/admin/broadcasts", include_in_schema=False)
async def broadcast_send(request: Request, page: AdminPage, session: SystemSession) -> Response:
    assert page.user is not None
    form = await request.form()
    values = {
        key: value.strip() if isinstance(value := form.get(key), str) else ""
        for key in ("title", "body", "role")
    }
    try:
        key = str(uuid.UUID(str(form.get("idempotency_key", ""))))
    except ValueError as exc:
        raise Unprocessable("The form is damaged; open the page again.") from exc
    try:
        data = BroadcastCreate(
            title=values["title"], body=values["body"], role=values["role"] or None
        )
    except ValidationError as exc:
        errors = {
            str(error["loc"][0]): page.viewer.gettext(FIELD_FALLBACK)
            for error in exc.errors()
            if error["loc"]
        }
        context = await _page(page, session, values=values, errors=errors, notice=None)
        raise FormInvalid("admin_broadcasts.html", **context) from exc
    claimed = await idempotency.claim(session, key, page.user.id, SCOPE, data)
    if claimed.replay is None:
        started = await notifications.start_broadcast(session, page.user, data)
        await idempotency.remember(session, claimed, 202, BroadcastRead.model_validate(started))
    return RedirectResponse("/admin/broadcasts?notice=broadcast_started", status_code=303)
