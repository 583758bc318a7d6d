"""Admin page for the audit log: who did what to which subject, newest first, filtered by the
actor, the subject's type and id, the action and a range of days, one keyset page at a time.

It reads through ``audit.service.list_entries`` with the ``AuditFilter`` that ``GET /api/v1/
admin/audit-log`` uses (the same checks, the same redaction of secret-looking values). The
actor may be typed as an e-mail address (looked up among the users) or an id; days are the
admin's own, in their time zone.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query
from starlette.responses import Response

from studyhall.accounts import service as accounts
from studyhall.audit import service as audit
from studyhall.db.rls import SystemSession
from studyhall.kit.errors import Unprocessable
from studyhall.kit.paging import PageRequest
from studyhall.web.pages.admin import AdminPage
from studyhall.web.rendering import Visit, render

router = APIRouter()

PAGE_SIZE = 30
Text = Annotated[str | None, Query(max_length=254)]


async def _actor_id(session: SystemSession, actor: str) -> uuid.UUID | None:
    """An id as typed, or the user with exactly this e-mail address."""
    try:
        return uuid.UUID(actor)
    except ValueError:
        pass
    users, _ = await accounts.list_users(
        session, q=actor, role=None, status=None, limit=50, cursor=None
    )
    for user in users:
        if user.email.lower() == actor.lower():
            return user.id
    raise Unprocessable("No user has this e-mail address.", code="actor_not_found")


def _day_start(visit: Visit, typed: str | None, *, next_day: bool = False) -> datetime | None:
    if not typed:
        return None
    try:
        day = date.fromisoformat(typed)
    except ValueError as exc:
        raise Unprocessable("Choose a day.", code="invalid_day") from exc
    if next_day:
        day += timedelta(days=1)
    return datetime.combine(day, time(0), tzinfo=visit.viewer.zone)


def _shown_diff(value: Any) -> str:
    return "" if not value else json.dumps(audit.redact(value), ensure_ascii=False, indent=1)


@router.get("/admin/audit-log", include_in_schema=False)
async def admin_audit_page(
    page: AdminPage,
    session: SystemSession,
    actor: Text = None,
    entity: Text = None,
    entity_id: Text = None,
    action: Text = None,
    since: Annotated[str | None, Query(max_length=10)] = None,
    until: Annotated[str | None, Query(max_length=10)] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    """``since`` and ``until`` are days, both included."""
    filters = {
        "actor": (actor or "").strip(),
        "entity": (entity or "").strip(),
        "entity_id": (entity_id or "").strip(),
        "action": (action or "").strip(),
        "since": since or "",
        "until": until or "",
    }
    where = audit.AuditFilter(
        actor_user_id=await _actor_id(session, filters["actor"]) if filters["actor"] else None,
        entity=filters["entity"] or None,
        entity_id=filters["entity_id"] or None,
        action=filters["action"] or None,
        since=_day_start(page, since),
        until=_day_start(page, until, next_day=True),
    )
    request = PageRequest(limit=PAGE_SIZE, cursor=cursor)
    rows = await audit.list_entries(
        session, where, request.limit + 1, request.key(datetime, uuid.UUID)
    )
    entries, next_cursor = request.of(rows, lambda row: (row.created_at, row.id))
    return render(
        page,
        "admin_audit.html",
        entries=[
            {
                "created_at": entry.created_at,
                "actor_user_id": entry.actor_user_id,
                "action": entry.action,
                "entity": entry.entity,
                "entity_id": entry.entity_id,
                "diff": _shown_diff(entry.diff),
            }
            for entry in entries
        ],
        filters=filters,
        more=urlencode({**filters, "cursor": next_cursor}) if next_cursor else None,
    )
