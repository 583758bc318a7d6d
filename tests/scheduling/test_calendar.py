from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import icalendar
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.db.engine import Database
from studyhall.scheduling.config import scheduling_settings
from studyhall.scheduling.google import calendar_sync as google_calendar
from tests.conftest import run_jobs
from tests.scheduling.conftest import API, MarketFactory, Person, book, rows, sign_up
from tests.scheduling.test_bookings import MORNING


def _events(ics: bytes) -> list[icalendar.Event]:
    return list(icalendar.Calendar.from_ical(ics).walk("VEVENT"))


async def test_private_feed_with_stable_uids_sequence_and_cancellation(
    client: httpx.AsyncClient, market: MarketFactory
) -> None:
    m = await market(rule=MORNING)
    student = await sign_up(client, "student", timezone="Europe/Copenhagen")
    booking = (await book(client, student, m.open_slots[0]["id"])).json()
    created = await client.post(f"{API}/calendar/feed", headers=student.headers)
    assert created.status_code == 201
    token = created.json()["token"]
    assert created.json()["url"].endswith(f"/api/v1/calendar/feeds/{token}.ics")
    feed = await client.get(f"{API}/calendar/feeds/{token}.ics")
    assert feed.status_code == 200
    assert feed.headers["content-type"] == "text/calendar; charset=utf-8"
    cal = icalendar.Calendar.from_ical(feed.content)
    assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == ["Europe/Copenhagen"]
    (event,) = _events(feed.content)
    assert (str(event["UID"]), event["SEQUENCE"], str(event["STATUS"])) == (
        f"{booking['id']}@studyhall",
        0,
        "CONFIRMED",
    )
    assert str(event["SUMMARY"]) == "Algebra 1:1 with Tess Tutor"
    assert event.decoded("DTSTART").tzinfo.key == "Europe/Copenhagen"
    assert event.decoded("DTSTART").isoformat()[11:] == "10:00:00+01:00"
    cancel = await client.post(
        f"{API}/bookings/{booking['id']}/cancel", json={}, headers=student.headers
    )
    assert cancel.status_code == 200
    (after,) = _events((await client.get(f"{API}/calendar/feeds/{token}.ics")).content)
    assert (str(after["UID"]), after["SEQUENCE"], str(after["STATUS"])) == (
        f"{booking['id']}@studyhall",
        1,
        "CANCELLED",
    )
    single = await client.get(
        f"{API}/bookings/{booking['id']}/calendar.ics", headers=m.tutor.headers
    )
    (tutor_view,) = _events(single.content)
    assert str(tutor_view["SUMMARY"]) == "Algebra 1:1 with Ann"
    # A new feed URL retires the old one; revoking retires the new one.
    newer = (await client.post(f"{API}/calendar/feed", headers=student.headers)).json()["token"]
    old = await client.get(f"{API}/calendar/feeds/{token}.ics")
    assert (old.status_code, old.json()["code"]) == (404, "feed_not_found")
    assert (await client.delete(f"{API}/calendar/feed", headers=student.headers)).status_code == 204
    assert (await client.get(f"{API}/calendar/feeds/{newer}.ics")).status_code == 404


async def test_booking_ics_is_only_for_its_parties(
    client: httpx.AsyncClient, market: MarketFactory
) -> None:
    m = await market(rule=MORNING)
    student, stranger = await sign_up(client), await sign_up(client)
    booking = (await book(client, student, m.open_slots[0]["id"])).json()
    denied = await client.get(
        f"{API}/bookings/{booking['id']}/calendar.ics", headers=stranger.headers
    )
    assert (denied.status_code, denied.json()["code"]) == (404, "booking_not_found")


@dataclass
class FakeGoogle:
    """A local server speaking the Calendar v3 events insert/patch/delete shapes."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)


def _handler(fake: FakeGoogle) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _reply(self, status: int, body: dict[str, Any] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            data = b"" if body is None else json.dumps(body).encode()
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _record(self) -> dict[str, Any] | None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            fake.requests.append(
                {
                    "method": self.command,
                    "path": self.path,
                    "auth": self.headers.get("Authorization"),
                    "body": body,
                }
            )
            return body

        def do_POST(self) -> None:
            body = self._record() or {}
            if body.get("id") in fake.events:
                return self._reply(409, {"error": {"code": 409, "message": "duplicate"}})
            event = {**body, "kind": "calendar#event", "etag": '"1"'}
            wants_meet = "conferenceDataVersion=1" in self.path
            if wants_meet and "createRequest" in (body.get("conferenceData") or {}):
                # What Google answers for a Meet conference: the link, and its entry point.
                link = f"https://meet.google.com/{body['id'][-12:-1]}"
                event["hangoutLink"] = link
                event["conferenceData"] = {
                    "entryPoints": [{"entryPointType": "video", "uri": link}]
                }
            fake.events[body["id"]] = event
            self._reply(200, event)

        def do_PATCH(self) -> None:
            body = self._record() or {}
            event_id = self.path.rsplit("/", 1)[-1]
            if event_id not in fake.events:
                return self._reply(404, {"error": {"code": 404}})
            fake.events[event_id].update(body)
            self._reply(200, fake.events[event_id])

        def do_DELETE(self) -> None:
            self._record()
            fake.events.pop(self.path.rsplit("/", 1)[-1], None)
            self._reply(204)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def google(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGoogle]:
    fake = FakeGoogle()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv(
        "STUDYHALL_GOOGLE_CALENDAR_BASE_URL", f"http://127.0.0.1:{server.server_port}/calendar/v3"
    )
    scheduling_settings.cache_clear()
    yield fake
    server.shutdown()
    scheduling_settings.cache_clear()
    google_calendar.set_token_lookup(None)


def _connect(connected: dict[uuid.UUID, str]) -> None:
    async def lookup(
        session: AsyncSession, user_id: uuid.UUID
    ) -> google_calendar.CalendarAccess | None:
        token = connected.get(user_id)
        return None if token is None else google_calendar.CalendarAccess(token)

    google_calendar.set_token_lookup(lookup)


async def test_google_events_follow_the_booking(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory, google: FakeGoogle
) -> None:
    m = await market(rule=MORNING)
    student: Person = await sign_up(client, name="Sam")
    _connect({student.id: "student-access-token"})  # the tutor has not connected Google
    booking = (await book(client, student, m.open_slots[0]["id"])).json()
    await run_jobs()
    event_id = f"sh{uuid.UUID(booking['id']).hex}s"
    assert google.requests == [
        {
            "method": "POST",
            "path": "/calendar/v3/calendars/primary/events",
            "auth": "Bearer student-access-token",
            "body": {
                "id": event_id,
                "summary": "Algebra 1:1 with Tess Tutor",
                "description": "Linear equations, step by step.",
                "start": {
                    "dateTime": m.open_slots[0]["start_at"].replace("Z", "+00:00"),
                    "timeZone": "UTC",
                },
                "end": {
                    "dateTime": m.open_slots[0]["end_at"].replace("Z", "+00:00"),
                    "timeZone": "UTC",
                },
                "sequence": 0,
                "status": "confirmed",
                "location": booking["join_link"],
            },
        }
    ]
    assert booking["join_link"].startswith("https://meet.jit.si/studyhall-")
    assert await rows(
        owner_db, "SELECT calendar_event_id_student, calendar_event_id_tutor FROM bookings"
    ) == [(event_id, None)]
    moved = await client.post(
        f"{API}/bookings/{booking['id']}/reschedule",
        json={"slot_id": m.open_slots[2]["id"]},
        headers=student.headers,
    )
    assert moved.status_code == 200
    await run_jobs()
    patch = google.requests[1]
    assert (patch["method"], patch["path"]) == (
        "PATCH",
        f"/calendar/v3/calendars/primary/events/{event_id}",
    )
    assert patch["body"]["start"]["dateTime"] == m.open_slots[2]["start_at"].replace("Z", "+00:00")
    assert patch["body"]["sequence"] == 1
    await client.post(f"{API}/bookings/{booking['id']}/cancel", json={}, headers=student.headers)
    await run_jobs()
    assert [(r["method"], r["path"]) for r in google.requests[2:]] == [
        ("DELETE", f"/calendar/v3/calendars/primary/events/{event_id}")
    ]
    assert google.events == {}
    assert await rows(owner_db, "SELECT calendar_event_id_student FROM bookings") == [(None,)]


async def test_nobody_connected_means_no_calls(
    client: httpx.AsyncClient, market: MarketFactory, google: FakeGoogle
) -> None:
    m = await market(rule=MORNING)
    student = await sign_up(client)
    assert (await book(client, student, m.open_slots[0]["id"])).status_code == 201
    await run_jobs()
    assert google.requests == []
