"""Row level security on the private scheduling rows, checked as the API role itself."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import text

from studyhall.db.engine import Database, set_current_user
from tests.scheduling.conftest import API, MarketFactory, book, sign_up
from tests.scheduling.test_bookings import MORNING

COUNTS = (
    "SELECT (SELECT count(*) FROM bookings), (SELECT count(*) FROM booking_details), "
    "(SELECT count(*) FROM time_off_blocks), (SELECT count(*) FROM calendar_feeds)"
)


async def _counts(db: Database, user_id: uuid.UUID | None) -> tuple[int, ...]:
    async with db.transaction() as session:
        if user_id is not None:
            await set_current_user(session, user_id)
        row = (await session.execute(text(COUNTS))).one()
        # A stranger's UPDATE finds nothing to change.
        changed = await session.execute(text("UPDATE bookings SET tutor_notes = 'x'"))
        return (*tuple(row), changed.rowcount)  # type: ignore[attr-defined]


async def test_parties_see_their_rows_and_nobody_else_does(
    client: httpx.AsyncClient, db: Database, market: MarketFactory
) -> None:
    m = await market(rule=MORNING)
    student, stranger = await sign_up(client), await sign_up(client)
    assert (await book(client, student, m.open_slots[0]["id"])).status_code == 201
    start = datetime.now(UTC) + timedelta(days=5)
    off = {"start_at": start.isoformat(), "end_at": (start + timedelta(hours=2)).isoformat()}
    assert (
        await client.post(f"{API}/time-off", json=off, headers=m.tutor.headers)
    ).status_code == 201
    assert (await client.post(f"{API}/calendar/feed", headers=student.headers)).status_code == 201
    assert await _counts(db, student.id) == (1, 1, 0, 1, 1)
    assert await _counts(db, m.tutor.id) == (1, 1, 1, 0, 1)
    assert await _counts(db, stranger.id) == (0, 0, 0, 0, 0)
    assert await _counts(db, None) == (0, 0, 0, 0, 0)
