"""The tutor's weekly availability editor and time off, both in the tutor's own time zone.

A week's hours become the same availability rule the API takes (a weekly RRULE from today in
the tutor's zone); days off become a time-off block from the first day's midnight to the midnight
after the last day, in that zone. The page names the zone's next clock change: the hours stay
put on the tutor's clock, so students elsewhere see them move by the difference.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time, get_day_names
from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.responses import Response

from studyhall.db.deps import Session
from studyhall.kit.errors import DomainError
from studyhall.scheduling import service as scheduling
from studyhall.scheduling.models import AvailabilityRuleRow
from studyhall.scheduling.schemas import RuleCreate, ScheduleSettingsUpdate, TimeOffCreate
from studyhall.web.errors import FormInvalid
from studyhall.web.messages import domain_message, notice
from studyhall.web.pages.teaching import (
    Notice,
    TutorPage,
    _field_errors,
    _see,
    _text,
)
from studyhall.web.rendering import Visit, render

router = APIRouter()

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def next_clock_change(zone: ZoneInfo, today: date) -> tuple[date, timedelta, timedelta] | None:
    """The first day within a year whose noon has another UTC offset than the day before, with
    both offsets."""
    before = datetime.combine(today, time(12), zone).utcoffset()
    for days in range(1, 367):
        later = datetime.combine(today + timedelta(days=days), time(12), zone)
        offset = later.utcoffset()
        if offset is not None and before is not None and offset != before:
            return later.date(), before, offset
    return None


def offset_text(offset: timedelta) -> str:
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "\u2212"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _clock_change(page: Visit, zone: ZoneInfo) -> dict[str, str] | None:
    found = next_clock_change(zone, scheduling.utcnow().astimezone(zone).date())
    if found is None:
        return None
    day, before, after = found
    return {
        "day": format_date(day, "long", locale=page.viewer.language),
        "before": offset_text(before),
        "after": offset_text(after),
    }


def day_names(page: Visit) -> dict[str, str]:
    """RRULE weekday codes to the viewer's own short day names (Monday first)."""
    names = get_day_names("abbreviated", locale=page.viewer.language)
    return {code: str(names[index]) for index, code in enumerate(WEEKDAYS)}


def _described(page: Visit, rule: AvailabilityRuleRow) -> dict[str, Any]:
    """A rule as the tutor reads it: its weekdays and its hours on their clock."""
    names = day_names(page)
    by_day = (rule.rrule or "").partition("BYDAY=")[2].split(";")[0]
    codes = [code for code in by_day.split(",") if code in names]
    hours = " \u2013 ".join(
        format_time(moment, "short", locale=page.viewer.language)
        for moment in (rule.start_time, rule.end_time)
    )
    return {
        "id": rule.id,
        "days": ", ".join(names[code] for code in codes) or rule.rrule or "",
        "hours": hours,
        "zone": rule.timezone,
    }


# The API's schedule settings, in the order the form shows them.
SETTINGS_FIELDS = tuple(ScheduleSettingsUpdate.model_fields)

EMPTY = {"days": [], "start_time": "09:00", "end_time": "17:00", "off_from": "", "off_to": ""}


async def _context(page: Visit, session: Session, **extra: Any) -> dict[str, Any]:
    assert page.user is not None
    zone = ZoneInfo(page.user.timezone)
    rules = await scheduling.list_rules(session, page.user.id)
    blocks = await scheduling.list_time_off(session, page.user.id)
    settings = await scheduling.get_settings(session, page.user.id)
    context: dict[str, Any] = {
        "zone": page.user.timezone,
        "settings": {name: _shown(getattr(settings, name)) for name in SETTINGS_FIELDS},
        "settings_errors": {},
        "rules": [_described(page, rule) for rule in rules],
        "blocks": [
            {
                "id": block.id,
                "start_at": block.start_at,
                "end_at": block.end_at,
                "reason": block.reason,
            }
            for block in blocks
            if block.end_at > scheduling.utcnow()
        ],
        "clock_change": _clock_change(page, zone),
        "weekdays": day_names(page),
        "values": EMPTY,
        "errors": {},
        "notice": None,
    }
    return {**context, **extra}


def _shown(value: int | None) -> str:
    return "" if value is None else str(value)


def _setting(raw: str) -> int | str | None:
    """An empty box clears the setting (the API's null); a number is taken as one; anything else
    goes to the API's schema as typed, which refuses it for that field."""
    raw = raw.strip()
    if not raw:
        return None
    return int(raw) if raw.isdecimal() else raw


def _weekly(form: FormData, today: date) -> tuple[dict[str, Any], RuleCreate]:
    days = [day for day in WEEKDAYS if form.get(f"day_{day}") == "on"]
    values = {
        **EMPTY,
        "days": days,
        "start_time": _text(form, "start_time"),
        "end_time": _text(form, "end_time"),
    }
    data = RuleCreate.model_validate(
        {
            "start_date": today,
            "start_time": values["start_time"],
            "end_time": values["end_time"],
            "rrule": f"FREQ=WEEKLY;BYDAY={','.join(days)}" if days else "",
        }
    )
    return values, data


@router.get("/teach/availability", include_in_schema=False)
async def availability_page(
    page: TutorPage, session: Session, notice_key: Notice = None
) -> Response:
    context = await _context(page, session, notice=notice(page.viewer, notice_key))
    return render(page, "teach_availability.html", **context)


@router.post("/teach/availability", include_in_schema=False)
async def add_hours(request: Request, page: TutorPage, session: Session) -> Response:
    assert page.user is not None
    form = await request.form()
    today = scheduling.utcnow().astimezone(ZoneInfo(page.user.timezone)).date()
    context = await _context(page, session)
    values = {**EMPTY, "days": [d for d in WEEKDAYS if form.get(f"day_{d}") == "on"]}
    try:
        values, data = _weekly(form, today)
        if not values["days"]:
            errors = {"days": page.viewer.gettext("Choose at least one day.")}
            raise FormInvalid(
                "teach_availability.html", **{**context, "values": values, "errors": errors}
            )
        await scheduling.create_rule(session, page.user, data)
    except ValidationError as exc:
        errors = _field_errors(page, exc)
        raise FormInvalid(
            "teach_availability.html", **{**context, "values": values, "errors": errors}
        ) from exc
    except DomainError as exc:
        errors = {"hours": domain_message(page.viewer, exc)}
        raise FormInvalid(
            "teach_availability.html",
            status_code=exc.status,
            **{**context, "values": values, "errors": errors},
        ) from exc
    return _see("/teach/availability?notice=hours_added")


@router.post("/teach/availability/{rule_id}/remove", include_in_schema=False)
async def remove_hours(rule_id: uuid.UUID, page: TutorPage, session: Session) -> Response:
    assert page.user is not None
    await scheduling.delete_rule(session, page.user, rule_id)
    return _see("/teach/availability?notice=hours_removed")


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


@router.post("/teach/time-off", include_in_schema=False)
async def add_time_off(request: Request, page: TutorPage, session: Session) -> Response:
    assert page.user is not None
    form = await request.form()
    zone = ZoneInfo(page.user.timezone)
    off_from, off_to = _text(form, "off_from"), _text(form, "off_to")
    values = {**EMPTY, "off_from": off_from, "off_to": off_to}
    first, last = _day(off_from), _day(off_to or off_from)
    context = await _context(page, session, values=values)
    if first is None or last is None:
        raise FormInvalid(
            "teach_availability.html",
            **{**context, "errors": {"off_from": page.viewer.gettext("Choose the first day.")}},
        )
    try:
        data = TimeOffCreate(
            start_at=datetime.combine(first, time(0), zone),
            end_at=datetime.combine(last + timedelta(days=1), time(0), zone),
            reason=_text(form, "reason")[:500] or None,
        )
        await scheduling.create_time_off(session, page.user, data)
    except DomainError as exc:
        raise FormInvalid(
            "teach_availability.html",
            status_code=exc.status,
            **{**context, "errors": {"off_from": domain_message(page.viewer, exc)}},
        ) from exc
    return _see("/teach/availability?notice=time_off_added")


@router.post("/teach/time-off/{block_id}/remove", include_in_schema=False)
async def remove_time_off(block_id: uuid.UUID, page: TutorPage, session: Session) -> Response:
    assert page.user is not None
    await scheduling.delete_time_off(session, page.user, block_id)
    return _see("/teach/availability?notice=time_off_removed")


@router.post("/teach/schedule-settings", include_in_schema=False)
async def save_schedule_settings(request: Request, page: TutorPage, session: Session) -> Response:
    """Buffers, minimum notice, horizon, caps and refund policy, as ``PATCH
    /api/v1/me/schedule-settings`` takes them; every box is sent, an empty one as null."""
    assert page.user is not None
    form = await request.form()
    typed = {name: _text(form, name) for name in SETTINGS_FIELDS}
    context = await _context(page, session)
    try:
        data = ScheduleSettingsUpdate.model_validate(
            {name: _setting(value) for name, value in typed.items()}
        )
        await scheduling.update_settings(session, page.user, data)
    except ValidationError as exc:
        raise FormInvalid(
            "teach_availability.html",
            **{**context, "settings": typed, "settings_errors": _field_errors(page, exc)},
        ) from exc
    except DomainError as exc:
        errors = {"settings": domain_message(page.viewer, exc)}
        raise FormInvalid(
            "teach_availability.html",
            status_code=exc.status,
            **{**context, "settings": typed, "settings_errors": errors},
        ) from exc
    return _see("/teach/availability?notice=schedule_settings_saved")
