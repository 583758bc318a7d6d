"""Admin page for the payment providers' webhook events as received: provider, type, state,
when, and the error or the reason one was refused; filtered by state and provider, newest first,
keyset paged.

The list is ``billing.service.list_webhook_events``, which ``GET
/api/v1/billing/admin/webhook-events`` serves too; the page only reads.
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query
from starlette.responses import Response

from studyhall.billing import service as billing
from studyhall.db.rls import SystemSession
from studyhall.kit.paging import PageRequest
from studyhall.web.pages.admin import AdminPage
from studyhall.web.rendering import render

router = APIRouter()

PAGE_SIZE = 30
# "" is the search form's "any"; the values are the API's filters.
State = Literal["", "rejected", "pending", "processed"]
Provider = Literal["", "stripe", "paymob"]


@router.get("/admin/webhooks", include_in_schema=False)
async def admin_webhooks_page(
    page: AdminPage,
    session: SystemSession,
    state: State = "",
    provider: Provider = "",
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    """Received provider events, the newest first, by state and provider."""
    events, next_cursor = await billing.list_webhook_events(
        session,
        state=state or None,
        provider=provider or None,
        page=PageRequest(limit=PAGE_SIZE, cursor=cursor),
    )
    filters = {"state": state, "provider": provider}
    more = urlencode({**filters, "cursor": next_cursor}) if next_cursor else None
    return render(
        page,
        "admin_webhooks.html",
        events=events,
        filters=filters,
        more=more,
        first_page=cursor is None,
        newest=urlencode(filters),
    )
