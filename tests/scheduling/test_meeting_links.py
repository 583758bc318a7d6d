"""Every booking gets a join link: the tutor's own, a fresh provider room, or Google Meet."""

from __future__ import annotations

import base64
import email
import email.policy
import re
import uuid
from collections.abc import Iterator

import httpx
import icalendar
import pytest
from pydantic import ValidationError
from sqlalchemy import text

from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.scheduling.config import SchedulingSettings, scheduling_settings
from tests.scheduling.conftest import (
    API,
    MarketFactory,
    book,
    rows,
    run_jobs,
    sign_up,
)
from tests.scheduling.test_calendar import MORNING, FakeGoogle, _connect, google  # noqa: F401

JITSI = re.compile(r"^https://meet\.jit\.si/studyhall-[0-9a-f]{24}$")


@pytest.fixture
def meeting_pattern(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    scheduling_settings.cache_clear()
    yield monkeypatch
    scheduling_settings.cache_clear()


async def test_each_booking_gets_its_own_room_in_booking_email_and_ics(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory
) -> None:
    m = await market()
    first, second = await sign_up(client), await sign_up(client)
    one = (await book(client, first, m.open_slots[0]["id"])).json()
    two = (await book(client, second, m.open_slots[2]["id"])).json()
    assert JITSI.match(one["join_link"]) and JITSI.match(two["join_link"])
    assert one["join_link"] != two["join_link"]

    [(payload,)] = await rows(
        owner_db,
        "SELECT payload FROM notifications WHERE type = 'booking_confirmation' "
        "AND channel = 'email' AND user_id = :u",
        u=first.id,
    )
    assert payload["meeting_link"] == one["join_link"]
    invite = base64.b64decode(payload["attachments"][0]["content_b64"])
    [event] = icalendar.Calendar.from_ical(invite).walk("VEVENT")
    assert (str(event["LOCATION"]), str(event["URL"])) == (one["join_link"], one["join_link"])
    served = await client.get(f"{API}/bookings/{one['id']}/calendar.ics", headers=first.headers)
    assert one["join_link"] in served.text


async def test_the_tutors_own_link_wins_and_the_pattern_is_a_setting(
    client: httpx.AsyncClient, market: MarketFactory, meeting_pattern: pytest.MonkeyPatch
) -> None:
    m = await market()
    own = await client.patch(
        f"{API}/me/tutor-profile",
        json={"meeting_link": "https://zoom.example.com/j/123"},
        headers=m.tutor.headers,
    )
    assert own.status_code == 200
    student = await sign_up(client)
    booked = (await book(client, student, m.open_slots[0]["id"])).json()
    assert booked["join_link"] == "https://zoom.example.com/j/123"

    await client.patch(
        f"{API}/me/tutor-profile", json={"meeting_link": None}, headers=m.tutor.headers
    )
    meeting_pattern.setenv("STUDYHALL_MEETING_URL_PATTERN", "https://jitsi.school.example/{room}")
    scheduling_settings.cache_clear()
    custom = (await book(client, student, m.open_slots[2]["id"])).json()
    assert re.match(r"^https://jitsi\.school\.example/[0-9a-f]{24}$", custom["join_link"])

    meeting_pattern.setenv("STUDYHALL_MEETING_URL_PATTERN", "")
    scheduling_settings.cache_clear()
    none = (await book(client, student, m.open_slots[4]["id"])).json()
    assert none["join_link"] is None


def test_a_pattern_without_exactly_one_room_is_refused() -> None:
    for bad in ("https://meet.jit.si/fixed", "https://x/{room}/{room}"):
        with pytest.raises(ValidationError):
            SchedulingSettings(_env_file=None, meeting_url_pattern=bad)  # type: ignore[call-arg]


async def test_a_google_connected_tutor_gets_a_meet_link_for_both_calendars(
    client: httpx.AsyncClient,
    owner_db: Database,
    market: MarketFactory,
    google: FakeGoogle,  # noqa: F811
) -> None:
    m = await market(rule=MORNING)
    student = await sign_up(client, name="Sam")
    _connect({m.tutor.id: "tutor-token", student.id: "student-token"})
    booking = (await book(client, student, m.open_slots[0]["id"])).json()
    assert JITSI.match(booking["join_link"])
    await run_jobs()

    tutor_insert, student_insert = google.requests
    assert tutor_insert["auth"] == "Bearer tutor-token"
    assert tutor_insert["path"].endswith("/events?conferenceDataVersion=1")
    assert tutor_insert["body"]["conferenceData"]["createRequest"] == {
        "requestId": uuid.UUID(booking["id"]).hex,
        "conferenceSolutionKey": {"type": "hangoutsMeet"},
    }
    meet = google.events[tutor_insert["body"]["id"]]["hangoutLink"]
    assert meet.startswith("https://meet.google.com/")
    assert (student_insert["auth"], student_insert["body"]["location"]) == (
        "Bearer student-token",
        meet,
    )
    assert "conferenceData" not in student_insert["body"]
    after = (await client.get(f"{API}/bookings/{booking['id']}", headers=student.headers)).json()
    assert (after["join_link"], after["sequence"]) == (meet, 1)

    # A later change patches the events and makes no second conference.
    moved = await client.post(
        f"{API}/bookings/{booking['id']}/reschedule",
        json={"slot_id": m.open_slots[2]["id"]},
        headers=student.headers,
    )
    assert moved.status_code == 200
    await run_jobs()
    assert {r["method"] for r in google.requests[2:]} == {"PATCH"}
    assert all(r["body"]["location"] == meet for r in google.requests[2:])
    assert all("conferenceData" not in r["body"] for r in google.requests[2:])


async def test_a_link_the_tutor_chose_is_never_replaced_by_meet(
    client: httpx.AsyncClient,
    market: MarketFactory,
    google: FakeGoogle,  # noqa: F811
) -> None:
    m = await market(rule=MORNING)
    await client.patch(
        f"{API}/me/tutor-profile",
        json={"meeting_link": "https://zoom.example.com/j/9"},
        headers=m.tutor.headers,
    )
    student = await sign_up(client)
    _connect({m.tutor.id: "tutor-token"})
    booking = (await book(client, student, m.open_slots[0]["id"])).json()
    await run_jobs()
    [insert] = google.requests
    assert "conferenceData" not in insert["body"] and "?" not in insert["path"]
    assert insert["body"]["location"] == "https://zoom.example.com/j/9"
    after = (await client.get(f"{API}/bookings/{booking['id']}", headers=student.headers)).json()
    assert after["join_link"] == "https://zoom.example.com/j/9"


async def test_the_confirmation_email_carries_the_meet_link_once_meet_replaced_the_room(
    client: httpx.AsyncClient,
    owner_db: Database,
    market: MarketFactory,
    google: FakeGoogle,  # noqa: F811
) -> None:
    m = await market(rule=MORNING)
    student = await sign_up(client, name="Sam")
    _connect({m.tutor.id: "tutor-token"})
    booking = (await book(client, student, m.open_slots[0]["id"])).json()
    assert JITSI.match(booking["join_link"])
    await run_jobs()
    [event_body] = google.events.values()
    meet = event_body["hangoutLink"]

    for person in (student.id, m.tutor.id):
        sent = await rows(
            owner_db,
            "SELECT payload FROM notifications WHERE type = 'booking_confirmation' "
            "AND channel = 'email' AND user_id = :u ORDER BY created_at",
            u=person,
        )
        assert [payload["meeting_link"] for (payload,) in sent] == [booking["join_link"], meet]
        invite = base64.b64decode(sent[-1][0]["attachments"][0]["content_b64"])
        [event] = icalendar.Calendar.from_ical(invite).walk("VEVENT")
        assert (str(event["LOCATION"]), int(event["SEQUENCE"])) == (meet, 1)
        assert str(event["UID"]).startswith(booking["id"])

    # A later sync (the booking moves) finds the Meet link in place: only the move is told.
    moved = await client.post(
        f"{API}/bookings/{booking['id']}/reschedule",
        json={"slot_id": m.open_slots[2]["id"]},
        headers=student.headers,
    )
    assert moved.status_code == 200
    await run_jobs()
    sent = await rows(
        owner_db,
        "SELECT payload FROM notifications WHERE type = 'booking_confirmation' "
        "AND channel = 'email' AND user_id = :u ORDER BY created_at",
        u=student.id,
    )
    assert [(p["meeting_link"], p["rescheduled"]) for (p,) in sent] == [
        (booking["join_link"], False),
        (meet, False),
        (meet, True),
    ]


async def test_reminders_written_before_meet_arrived_go_out_with_the_meet_link(
    client: httpx.AsyncClient,
    owner_db: Database,
    settings: Settings,
    market: MarketFactory,
    google: FakeGoogle,  # noqa: F811
) -> None:
    m = await market(rule=MORNING)
    student = await sign_up(client, name="Sam")
    _connect({m.tutor.id: "tutor-token"})
    booking = (await book(client, student, m.open_slots[0]["id"])).json()
    jitsi = booking["join_link"]
    assert JITSI.match(jitsi)
    # The reminders are written with the booking's first link, before Google answers.
    written = await rows(
        owner_db,
        "SELECT payload FROM notifications WHERE type = 'booking_reminder' AND user_id = :u",
        u=student.id,
    )
    assert written and all(payload["meeting_link"] == jitsi for (payload,) in written)
    await run_jobs()
    [event_body] = google.events.values()
    meet = event_body["hangoutLink"]

    # Time passes: the reminders fall due and go out.
    async with owner_db.transaction() as session:
        await session.execute(
            text(
                "UPDATE notifications SET scheduled_for = now() "
                "WHERE type = 'booking_reminder' AND status = 'pending'"
            )
        )
        await session.execute(
            text("UPDATE procrastinate_jobs SET scheduled_at = now() WHERE status = 'todo'")
        )
    await run_jobs()
    sent = await rows(
        owner_db,
        "SELECT channel, status, payload FROM notifications "
        "WHERE type = 'booking_reminder' AND user_id = :u",
        u=student.id,
    )
    assert {channel for channel, _, _ in sent} >= {"email", "inapp"}
    assert all(status == "sent" for _, status, _ in sent)
    assert all(payload["meeting_link"] == meet for _, _, payload in sent)
    mails = [
        message
        for path in sorted(settings.outbox_dir.glob("*.eml"))
        if (message := email.message_from_bytes(path.read_bytes(), policy=email.policy.default))[
            "Subject"
        ].startswith("Reminder")
    ]
    assert mails
    for message in mails:
        body = message.get_body(preferencelist=("plain",))
        assert body is not None
        text_part = body.get_content()
        assert meet in text_part and jitsi not in text_part
