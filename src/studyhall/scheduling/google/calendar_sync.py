"""Google Calendar: create, update and delete a booking's events through the REST API (v3).

Runs in a job, never in a request, so no request waits on Google: the booking is read in one short
transaction, the HTTP calls happen with no transaction open, and the event ids are written back in
another, only if nobody changed them meanwhile. Event ids are chosen by us (derived from the booking
id), so a retried insert finds its own event instead of creating a second one.

When the tutor is connected and the booking's join link is one Studyhall made
(``service/meeting_links.py``), the tutor's event is created with a Google Meet conference; its link
becomes the booking's join link (written back with the event ids, ``sequence`` + 1) and the
student's event carries it.

Who is connected is answered by a pluggable lookup: the accounts domain registers one that decrypts
``oauth_accounts`` tokens; until then nobody is connected and the job does nothing."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.db.engine import Database
from studyhall.db.rls import cross_users
from studyhall.scheduling.config import scheduling_settings
from studyhall.scheduling.service import meeting_links

Party = Literal["student", "tutor"]
_EVENT_STATUSES = ("confirmed", "completed")


@dataclass(frozen=True)
class CalendarAccess:
    access_token: str
    calendar_id: str = "primary"


TokenLookup = Callable[[AsyncSession, uuid.UUID], Awaitable[CalendarAccess | None]]


async def _nobody_connected(session: AsyncSession, user_id: uuid.UUID) -> CalendarAccess | None:
    return None


_lookup: TokenLookup = _nobody_connected


def set_token_lookup(lookup: TokenLookup | None) -> None:
    """Register how to find a user's Google access token (None: back to "not connected")."""
    global _lookup
    _lookup = lookup or _nobody_connected


async def access_for(session: AsyncSession, user_id: uuid.UUID) -> CalendarAccess | None:
    """The user's Google access as the registered lookup finds it (None: not connected)."""
    return await _lookup(session, user_id)


@dataclass(frozen=True)
class _Snapshot:
    booking_id: uuid.UUID
    status: str
    start_at: datetime
    end_at: datetime
    title: str
    description: str
    join_link: str | None
    sequence: int
    tutor_name: str
    student_name: str
    event_ids: dict[Party, str | None]
    access: dict[Party, CalendarAccess]


_READ = text(
    """
    SELECT status, start_at, end_at, offering_title, offering_description, join_link, sequence,
           tutor_name, student_name, student_id, tutor_id,
           calendar_event_id_student, calendar_event_id_tutor
    FROM booking_details WHERE id = :id
    """
)


async def _snapshot(session: AsyncSession, booking_id: uuid.UUID) -> _Snapshot | None:
    row = (await session.execute(_READ, {"id": booking_id})).first()
    if row is None:
        return None
    access: dict[Party, CalendarAccess] = {}
    for party, user_id in (("student", row.student_id), ("tutor", row.tutor_id)):
        found = await _lookup(session, user_id)
        if found is not None:
            access[party] = found  # type: ignore[index]
    return _Snapshot(
        booking_id=booking_id,
        status=row.status,
        start_at=row.start_at,
        end_at=row.end_at,
        title=row.offering_title,
        description=row.offering_description,
        join_link=row.join_link,
        sequence=row.sequence,
        tutor_name=row.tutor_name,
        student_name=row.student_name,
        event_ids={
            "student": row.calendar_event_id_student,
            "tutor": row.calendar_event_id_tutor,
        },
        access=access,
    )


def event_id(booking_id: uuid.UUID, party: Party) -> str:
    # Google ids use base32hex (0-9, a-v): a UUID's hex digits plus "s"/"t" qualify.
    return f"sh{booking_id.hex}{party[0]}"


def event_body(snap: _Snapshot, party: Party) -> dict[str, Any]:
    other = snap.student_name if party == "tutor" else snap.tutor_name
    body: dict[str, Any] = {
        "summary": f"{snap.title} with {other}",
        "description": snap.description,
        "start": {"dateTime": snap.start_at.isoformat(), "timeZone": "UTC"},
        "end": {"dateTime": snap.end_at.isoformat(), "timeZone": "UTC"},
        "sequence": snap.sequence,
        "status": "confirmed",
    }
    if snap.join_link:
        body["location"] = snap.join_link
    return body


class _Api:
    def __init__(self, http: httpx.AsyncClient, access: CalendarAccess) -> None:
        self.http = http
        self.headers = {"Authorization": f"Bearer {access.access_token}"}
        self.events = f"/calendars/{access.calendar_id}/events"

    async def insert(self, body: dict[str, Any]) -> dict[str, Any]:
        params = {"conferenceDataVersion": "1"} if "conferenceData" in body else None
        response = await self.http.post(self.events, json=body, headers=self.headers, params=params)
        if response.status_code == 409:  # our id already exists: a retried insert
            return await self.patch(str(body["id"]), body)
        response.raise_for_status()
        return dict(response.json())

    async def patch(self, event: str, body: dict[str, Any]) -> dict[str, Any]:
        fields = {key: value for key, value in body.items() if key not in ("id", "conferenceData")}
        response = await self.http.patch(
            f"{self.events}/{event}", json=fields, headers=self.headers
        )
        response.raise_for_status()
        return dict(response.json())

    async def delete(self, event: str) -> None:
        response = await self.http.delete(f"{self.events}/{event}", headers=self.headers)
        if response.status_code not in (404, 410):  # already gone is what we wanted
            response.raise_for_status()


def wants_meet(snap: _Snapshot, party: Party) -> bool:
    """Only the tutor's calendar makes the conference, and only in place of a link we made."""
    return party == "tutor" and meeting_links.is_generated(snap.join_link)


def meet_link(event: dict[str, Any]) -> str | None:
    link = event.get("hangoutLink")
    if isinstance(link, str) and link.startswith("https://"):
        return link
    for entry in (event.get("conferenceData") or {}).get("entryPoints") or []:
        uri = entry.get("uri") if isinstance(entry, dict) else None
        if entry.get("entryPointType") == "video" and isinstance(uri, str):
            return uri if uri.startswith("https://") else None
    return None


@dataclass(frozen=True)
class _Synced:
    event_id: str | None
    meet_link: str | None = None


async def _sync_party(http: httpx.AsyncClient, snap: _Snapshot, party: Party) -> _Synced:
    access = snap.access[party]
    api = _Api(http, access)
    current = snap.event_ids[party]
    if snap.status in _EVENT_STATUSES:
        body = event_body(snap, party)
        if current is None:
            body["id"] = event_id(snap.booking_id, party)
            if wants_meet(snap, party):
                body.pop("location", None)
                body["conferenceData"] = {
                    "createRequest": {
                        "requestId": snap.booking_id.hex,
                        "conferenceSolutionKey": {"type": "hangoutsMeet"},
                    }
                }
            event = await api.insert(body)
        else:
            event = await api.patch(current, body)
        return _Synced(str(event["id"]), meet_link(event) if wants_meet(snap, party) else None)
    if current is not None:
        await api.delete(current)
    return _Synced(None)


_WRITE = {
    "student": text(
        "UPDATE bookings SET calendar_event_id_student = :new WHERE id = :id "
        "AND calendar_event_id_student IS NOT DISTINCT FROM :old"
    ),
    "tutor": text(
        "UPDATE bookings SET calendar_event_id_tutor = :new WHERE id = :id "
        "AND calendar_event_id_tutor IS NOT DISTINCT FROM :old"
    ),
}

# The Meet link replaces the join link only if nobody changed it since it was read.
_MEET = text(
    "UPDATE bookings SET join_link = :link, sequence = sequence + 1 WHERE id = :id "
    "AND join_link IS NOT DISTINCT FROM :old AND join_link IS DISTINCT FROM :link RETURNING id"
)


MeetLinkAdded = Callable[[AsyncSession, uuid.UUID], Awaitable[None]]


async def sync_booking(
    database: Database,
    booking_id: uuid.UUID,
    transport: httpx.AsyncBaseTransport | None = None,
    *,
    on_meet_link: MeetLinkAdded | None = None,
) -> dict[Party, str | None]:
    """Bring the connected parties' events in line with the booking; returns the new ids.

    When Google Meet replaces the booking's generated room, ``on_meet_link`` runs in the
    transaction that stores the new link (the parties are sent the updated confirmation)."""
    async with database.transaction() as session:
        await cross_users(session)
        snap = await _snapshot(session, booking_id)
    if snap is None or not snap.access:
        return {}
    original_link = snap.join_link
    config = scheduling_settings()
    results: dict[Party, str | None] = {}
    meet: str | None = None
    async with httpx.AsyncClient(
        base_url=config.google_calendar_base_url,
        timeout=config.google_calendar_timeout_s,
        transport=transport,
    ) as http:
        # The tutor first: a Meet link made there is what the student's event then carries.
        for party in sorted(snap.access, key=lambda p: p != "tutor"):
            if meet is not None and meet != snap.join_link:
                snap = replace(snap, join_link=meet, sequence=snap.sequence + 1)
            synced = await _sync_party(http, snap, party)
            results[party] = synced.event_id
            meet = meet or synced.meet_link
    async with database.transaction() as session:
        await cross_users(session)
        for party, new in results.items():
            old = snap.event_ids[party]
            if new != old:
                await session.execute(_WRITE[party], {"id": booking_id, "new": new, "old": old})
        if meet is not None:
            replaced = await session.scalar(
                _MEET, {"id": booking_id, "link": meet, "old": original_link}
            )
            if replaced is not None and on_meet_link is not None:
                await on_meet_link(session, booking_id)
    return results
