"""Booking e-mails carry iTIP invitations: REQUEST adds and updates, CANCEL removes."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import icalendar

from studyhall.db.engine import Database
from tests.scheduling.conftest import API, MarketFactory, book, rows, sign_up

EMAILS = """
SELECT n.type, u.email, n.payload FROM notifications n JOIN users u ON u.id = n.user_id
WHERE n.entity_id = :id AND n.channel = 'email' AND n.type <> 'booking_reminder'
ORDER BY n.created_at, n.id
"""


def _invite(payload: dict[str, Any]) -> icalendar.Calendar:
    [attachment] = payload["attachments"]
    assert attachment["content_type"] == "text/calendar"
    return icalendar.Calendar.from_ical(base64.b64decode(attachment["content_b64"]))


def _event(calendar: icalendar.Calendar) -> icalendar.Event:
    [event] = calendar.walk("VEVENT")
    return event


async def test_confirm_reschedule_cancel_send_request_request_cancel(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory
) -> None:
    m = await market()
    student = await sign_up(client, name="Sam Student")
    edge = datetime.now(UTC) + timedelta(hours=26)
    first, second = [s for s in m.open_slots if datetime.fromisoformat(s["start_at"]) > edge][:2]
    booking = (await book(client, student, first["id"])).json()
    moved = await client.post(
        f"{API}/bookings/{booking['id']}/reschedule",
        json={"slot_id": second["id"]},
        headers=student.headers,
    )
    assert moved.status_code == 200, moved.text
    canceled = await client.post(
        f"{API}/bookings/{booking['id']}/cancel", json={"reason": "ill"}, headers=student.headers
    )
    assert canceled.status_code == 200, canceled.text

    emails = await rows(owner_db, EMAILS, id=booking["id"])
    assert [row[0] for row in emails] == ["booking_confirmation"] * 4 + ["booking_cancellation"] * 2
    invites = [(_invite(payload), email) for _, email, payload in emails]
    events = [_event(calendar) for calendar, _ in invites]
    assert [str(calendar["METHOD"]) for calendar, _ in invites] == ["REQUEST"] * 4 + ["CANCEL"] * 2
    assert {str(event["UID"]) for event in events} == {f"{booking['id']}@studyhall"}
    sequences = [int(event["SEQUENCE"]) for event in events]
    assert (
        sequences[0] == sequences[1] < sequences[2] == sequences[3] < sequences[4] == sequences[5]
    )
    starts = [event.decoded("DTSTART").astimezone(UTC) for event in events]
    assert starts[:2] == [datetime.fromisoformat(first["start_at"])] * 2
    assert starts[2:] == [datetime.fromisoformat(second["start_at"])] * 4
    assert [str(event["STATUS"]) for event in events[4:]] == ["CANCELLED"] * 2
    # Every party gets each message; the tutor organizes, the student attends.
    tutor_email = (await rows(owner_db, "SELECT email FROM users WHERE id = :id", id=m.tutor.id))[
        0
    ][0]
    student_email = (await rows(owner_db, "SELECT email FROM users WHERE id = :id", id=student.id))[
        0
    ][0]
    assert sorted(email for _, email in invites[:2]) == sorted([tutor_email, student_email])
    for event in events:
        assert str(event["ORGANIZER"]) == f"mailto:{tutor_email}"
        assert str(event["ATTENDEE"]) == f"mailto:{student_email}"
    moved_subjects = [payload.get("rescheduled") for _, _, payload in emails[:4]]
    assert moved_subjects == [False, False, True, True]
