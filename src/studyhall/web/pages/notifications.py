"""The notification bell, the in-app inbox, which notifications reach me how (preferences and
quiet hours) and the page an e-mail's unsubscribe link opens.

The bell's live count is the notifications domain's own event stream, signed in with the session
cookie: ``EventSource`` cannot send an ``Authorization`` header. Preferences and quiet hours go
through the API's schemas and the same service functions as ``PUT /api/v1/notifications/...``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import ValidationError
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from studyhall.accounts.models import User
from studyhall.db.deps import Session, get_database
from studyhall.db.rls import SystemSession
from studyhall.kit.errors import DomainError
from studyhall.kit.paging import PageRequest
from studyhall.notifications import service as notifications
from studyhall.notifications.schemas import PreferenceChange, QuietHoursUpdate
from studyhall.web.deps import DetachedMemberPage, MemberPage, Page
from studyhall.web.errors import FormInvalid
from studyhall.web.i18n import Viewer
from studyhall.web.messages import N_, domain_message, notice
from studyhall.web.rendering import Visit, render

router = APIRouter()

PAGE_SIZE = 50
Notice = Annotated[str | None, Query(alias="notice", max_length=40)]
UnsubscribeToken = Annotated[str, Query(min_length=10, max_length=200)]

# What each kind of notification is called on the settings page.
TYPE_NAMES = {
    "booking_confirmation": N_("Booking confirmed"),
    "booking_reminder": N_("Lesson reminders"),
    "booking_cancellation": N_("Booking canceled"),
    "payment_success": N_("Payment received"),
    "payment_failed": N_("Payment failed"),
    "credit_low": N_("Credits running low"),
    "ai_artifact_ready": N_("Study material ready"),
    "system_update": N_("News from Studyhall"),
    "email_verification": N_("Email address confirmation"),
    "password_reset": N_("Password reset"),
    "guardian_consent": N_("Guardian consent"),
    "achievement_unlocked": N_("Achievements"),
    "data_export_ready": N_("Your data export"),
}
CHANNEL_NAMES = {"email": N_("Email"), "inapp": N_("In the app"), "sms": N_("Text message")}
CHANNELS = ("email", "inapp", "sms")


@router.get("/notifications", include_in_schema=False)
async def notifications_page(page: MemberPage, session: Session) -> Response:
    assert page.user is not None
    listed = await notifications.list_inbox(
        session, page.user, unread_only=False, page=PageRequest(limit=PAGE_SIZE, cursor=None)
    )
    return render(page, "notifications.html", items=listed.items)


@router.post("/notifications/read-all", include_in_schema=False)
async def read_all(page: MemberPage, session: Session) -> Response:
    assert page.user is not None
    await notifications.mark_all_read(session, page.user)
    return RedirectResponse("/notifications", status_code=303)


@router.get("/notifications/stream", include_in_schema=False)
async def bell_stream(request: Request, page: DetachedMemberPage) -> EventSourceResponse:
    # Signed in by a transaction of its own: a stream lives for hours and holds no connection.
    assert page.user is not None
    return EventSourceResponse(_sent(request, page.user), ping=notifications.STREAM_PING_S)


async def _sent(request: Request, user: User) -> AsyncIterator[ServerSentEvent]:
    async for item in notifications.inbox_events(
        request.app.state,
        get_database(request),
        request.app.state.settings,
        user,
        request.headers.get("last-event-id"),
    ):
        yield ServerSentEvent(event=item.event, id=item.id, data=item.data)


def _type_name(viewer: Viewer, type_: str) -> str:
    known = TYPE_NAMES.get(type_)
    return viewer.gettext(known) if known else type_.replace("_", " ")


async def _settings_context(page: Visit, session: Session) -> dict[str, Any]:
    """The preference matrix (a row per type, a cell per channel) and the quiet hours, as plain
    values: a refused form draws them again after its transaction rolled back."""
    assert page.user is not None
    rows: dict[str, dict[str, dict[str, bool]]] = {}
    for item in await notifications.preferences(session, page.user.id):
        cell = {"enabled": item.enabled, "locked": item.locked}
        rows.setdefault(item.type, {})[item.channel] = cell
    quiet = await notifications.quiet_hours(session, page.user)
    return {
        "rows": [
            {"type": type_, "name": _type_name(page.viewer, type_), "cells": cells}
            for type_, cells in rows.items()
        ],
        "channels": [
            (channel, page.viewer.gettext(CHANNEL_NAMES[channel])) for channel in CHANNELS
        ],
        "quiet": {
            "start": quiet.quiet_hours_start.strftime("%H:%M") if quiet.quiet_hours_start else "",
            "end": quiet.quiet_hours_end.strftime("%H:%M") if quiet.quiet_hours_end else "",
            "timezone": quiet.timezone,
        },
        "error": None,
    }


@router.get("/notifications/settings", include_in_schema=False)
async def notification_settings(
    page: MemberPage, session: Session, notice_key: Notice = None
) -> Response:
    context = await _settings_context(page, session)
    return render(
        page, "notification_settings.html", notice=notice(page.viewer, notice_key), **context
    )


def _changes(form: FormData, context: dict[str, Any]) -> list[PreferenceChange]:
    """Every choice that may change, on or off as its box is ticked (an unticked box is not
    sent at all)."""
    ticked = set(form.getlist("on"))
    return [
        PreferenceChange.model_validate(
            {
                "type": row["type"],
                "channel": channel,
                "enabled": f"{row['type']}.{channel}" in ticked,
            }
        )
        for row in context["rows"]
        for channel, cell in row["cells"].items()
        if not cell["locked"]
    ]


@router.post("/notifications/settings/preferences", include_in_schema=False)
async def preferences_save(request: Request, page: MemberPage, session: Session) -> Response:
    assert page.user is not None
    context = await _settings_context(page, session)
    changes = _changes(await request.form(), context)
    await notifications.set_preferences(session, page.user, changes)
    return RedirectResponse("/notifications/settings?notice=preferences_saved", status_code=303)


def _quiet_hours(form: FormData, clear: bool) -> QuietHoursUpdate:
    if clear:
        return QuietHoursUpdate()
    start, end = form.get("quiet_hours_start"), form.get("quiet_hours_end")
    return QuietHoursUpdate.model_validate(
        {
            "quiet_hours_start": start if isinstance(start, str) and start else None,
            "quiet_hours_end": end if isinstance(end, str) and end else None,
        }
    )


@router.post("/notifications/settings/quiet-hours", include_in_schema=False)
async def quiet_hours_save(request: Request, page: MemberPage, session: Session) -> Response:
    assert page.user is not None
    form = await request.form()
    clear = form.get("action") == "clear"
    context = await _settings_context(page, session)
    try:
        await notifications.set_quiet_hours(session, page.user, _quiet_hours(form, clear))
    except ValidationError as exc:
        context["error"] = page.viewer.gettext("Enter both times as hours and minutes.")
        raise _refused(context, form, 422) from exc
    except DomainError as exc:
        context["error"] = domain_message(page.viewer, exc)
        raise _refused(context, form, exc.status) from exc
    done = "quiet_hours_off" if clear else "quiet_hours_saved"
    return RedirectResponse(f"/notifications/settings?notice={done}", status_code=303)


def _refused(context: dict[str, Any], form: FormData, status_code: int) -> FormInvalid:
    typed = {key: form.get(f"quiet_hours_{key}") for key in ("start", "end")}
    context["quiet"] = {
        **context["quiet"],
        **{key: value for key, value in typed.items() if isinstance(value, str)},
    }
    return FormInvalid(
        "notification_settings.html", status_code=status_code, notice=None, **context
    )


@router.get("/unsubscribe", include_in_schema=False)
async def unsubscribe_page(request: Request, page: Page, token: UnsubscribeToken) -> Response:
    """The page an e-mail's unsubscribe link opens. Opening it changes nothing (mail scanners
    open links); its button does. Mail programs use the one-click address of the e-mail's
    ``List-Unsubscribe`` header instead."""
    claim = notifications.read_unsubscribe_token(_secret(request), token)
    return render(
        page,
        "unsubscribe.html",
        token=token,
        kind=None if claim is None else _type_name(page.viewer, claim.type),
        done=False,
    )


@router.post("/unsubscribe", include_in_schema=False)
async def unsubscribe(request: Request, page: Page, session: SystemSession) -> Response:
    """The link, not a session, says whose preference changes: this acts across users."""
    token = str((await request.form()).get("token", ""))
    claim = notifications.read_unsubscribe_token(_secret(request), token)
    if claim is None or not await notifications.unsubscribe(session, claim):
        raise FormInvalid("unsubscribe.html", status_code=400, token=token, kind=None, done=False)
    return render(
        page, "unsubscribe.html", token=token, kind=_type_name(page.viewer, claim.type), done=True
    )


def _secret(request: Request) -> str:
    return str(request.app.state.settings.secret_key.get_secret_value())
