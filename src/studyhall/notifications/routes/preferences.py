"""Notifications HTTP: which types reach the caller on which channel, and quiet hours."""

from __future__ import annotations

from fastapi import APIRouter

from studyhall.accounts.deps import CurrentUser
from studyhall.db.deps import Session
from studyhall.kit.paging import PageQuery
from studyhall.notifications.schemas import (
    PreferencePage,
    PreferenceRead,
    PreferencesUpdate,
    QuietHours,
    QuietHoursUpdate,
)
from studyhall.notifications.service import inbox

router = APIRouter()


@router.get("/notifications/preferences", summary="List the caller's notification preferences")
async def preferences_list(user: CurrentUser, session: Session, page: PageQuery) -> PreferencePage:
    """Every notification type and channel, with the caller's choice (or the default)."""
    items, next_cursor = inbox.preferences_page(await inbox.preferences(session, user.id), page)
    return PreferencePage(items=items, next_cursor=next_cursor)


@router.put("/notifications/preferences", summary="Turn notification types on or off")
async def preferences_update(
    data: PreferencesUpdate, user: CurrentUser, session: Session
) -> list[PreferenceRead]:
    """Turns the listed types on or off per channel; answers every preference after the change.
    Account emails cannot be turned off (422 `preference_locked`)."""
    return await inbox.set_preferences(session, user, data.preferences)


@router.get("/notifications/quiet-hours", summary="Get the caller's quiet hours")
async def quiet_hours_get(user: CurrentUser, session: Session) -> QuietHours:
    """The caller's quiet hours, in local wall-clock times of the caller's zone."""
    return await inbox.quiet_hours(session, user)


@router.put("/notifications/quiet-hours", summary="Set or clear the caller's quiet hours")
async def quiet_hours_update(
    data: QuietHoursUpdate, user: CurrentUser, session: Session
) -> QuietHours:
    """Sets both ends of the quiet hours, or clears them with two nulls; notifications due
    inside them wait for their end (urgent ones excepted)."""
    return await inbox.set_quiet_hours(session, user, data)
