"""The tutor's booking settings on the availability page over HTTP: the API's schedule settings
(buffers, notice, horizon, caps, refund policy) saved through its schema and service, with the
schema's refusals shown beside the box and the service's refusal above the button."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select

from studyhall.accounts.models import User
from studyhall.db.engine import Database
from studyhall.db.rls import cross_users_transaction
from studyhall.scheduling.models import ScheduleSettings
from tests.web.test_pages import csrf_of

SETTINGS = {
    "buffer_before_minutes": "15",
    "buffer_after_minutes": "10",
    "min_notice_minutes": "720",
    "booking_horizon_days": "60",
    "max_bookings_per_day": "4",
    "max_bookings_per_week": "",
    "full_refund_notice_hours": "48",
    "late_refund_percent": "25",
}


async def _tutor_signs_up(client: httpx.AsyncClient, email: str) -> None:
    form = await client.get("/sign-up")
    answer = await client.post(
        "/sign-up",
        data={
            "csrf_token": csrf_of(form.text),
            "name": "Sami Settings",
            "email": email,
            "password": "correct horse battery",
            "role": "tutor",
            "timezone": "Africa/Cairo",
            "date_of_birth": "1985-03-02",
        },
    )
    assert answer.status_code == 303


def _value_of(html: str, name: str) -> str:
    match = re.search(rf'<input id="{name}" name="{name}" type="number" value="([^"]*)"', html)
    assert match, f"no box {name}"
    return match.group(1)


async def _stored(db: Database, email: str) -> ScheduleSettings:
    async with cross_users_transaction(db) as session:
        row = await session.scalar(
            select(ScheduleSettings)
            .join(User, User.id == ScheduleSettings.tutor_id)
            .where(User.email == email)
        )
        assert row is not None
        return row


async def test_a_tutor_saves_booking_settings_and_sees_them_again(
    client: httpx.AsyncClient, db: Database
) -> None:
    await _tutor_signs_up(client, "sami.settings@example.com")
    shown = await client.get("/teach/availability")
    assert shown.status_code == 200
    assert _value_of(shown.text, "full_refund_notice_hours") == "24"
    assert _value_of(shown.text, "booking_horizon_days") == "90"
    assert _value_of(shown.text, "max_bookings_per_day") == ""

    saved = await client.post(
        "/teach/schedule-settings", data={"csrf_token": csrf_of(shown.text), **SETTINGS}
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == "/teach/availability?notice=schedule_settings_saved"
    again = await client.get(saved.headers["location"])
    assert "Your booking settings are saved." in again.text
    for name, value in SETTINGS.items():
        assert _value_of(again.text, name) == value
    row = await _stored(db, "sami.settings@example.com")
    assert (row.buffer_before_minutes, row.min_notice_minutes, row.booking_horizon_days) == (
        15,
        720,
        60,
    )
    assert (row.max_bookings_per_day, row.max_bookings_per_week) == (4, None)
    assert (row.full_refund_notice_hours, row.late_refund_percent) == (48, 25)


async def test_booking_settings_the_api_refuses_are_shown_and_nothing_changes(
    client: httpx.AsyncClient, db: Database
) -> None:
    await _tutor_signs_up(client, "rana.settings@example.com")
    shown = await client.get("/teach/availability")
    token = csrf_of(shown.text)
    refused = await client.post(
        "/teach/schedule-settings",
        data={
            "csrf_token": token,
            **SETTINGS,
            "buffer_before_minutes": "241",
            "late_refund_percent": "half",
            "min_notice_minutes": "",
        },
    )
    assert refused.status_code == 422
    for name in ("buffer_before_minutes", "late_refund_percent", "min_notice_minutes"):
        assert f'aria-invalid="true" aria-describedby="{name}-error"' in refused.text
    assert 'aria-invalid="true" aria-describedby="buffer_after_minutes-error"' not in refused.text
    # What the tutor typed stays in the boxes.
    assert _value_of(refused.text, "late_refund_percent") == "half"
    row = await _stored(db, "rana.settings@example.com")
    assert (row.buffer_before_minutes, row.late_refund_percent) == (0, 0)

    # Weekly hours without an end need a horizon: the service refuses to clear it.
    hours = await client.post(
        "/teach/availability",
        data={"csrf_token": token, "day_MO": "on", "start_time": "09:00", "end_time": "12:00"},
    )
    assert hours.status_code == 303
    unbounded = await client.post(
        "/teach/schedule-settings",
        data={"csrf_token": token, **SETTINGS, "booking_horizon_days": ""},
    )
    assert unbounded.status_code == 409  # as the API answers
    assert "Your weekly hours repeat without an end" in unbounded.text
    assert (await _stored(db, "rana.settings@example.com")).booking_horizon_days == 90


async def test_the_availability_page_draws_the_settings_form_once_in_its_body(
    client: httpx.AsyncClient,
) -> None:
    """The form once stood inside the page's title block too: a title of raw markup and two
    forms with the same field ids."""
    await _tutor_signs_up(client, "sami.title@example.com")
    shown = await client.get("/teach/availability")
    title = shown.text.split("<title>", 1)[1].split("</title>", 1)[0]
    assert "<" not in title and title.startswith("Availability")
    assert shown.text.count('action="/teach/schedule-settings"') == 1
