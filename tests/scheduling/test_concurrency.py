"""Real concurrent clients against the app and the real database, then counting rows."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import psycopg
import pytest

from studyhall.bootstrap import DatabaseUrls
from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.db.identity import SET_IDENTITY_SQL, Identity, signed_settings
from tests.pg import TEST_RLS_KEY
from tests.scheduling.conftest import (
    API,
    OVERLAPS_SQL,
    SEATS_MISMATCH_SQL,
    MarketFactory,
    book,
    many_students,
    rows,
    scalar,
)
from tests.scheduling.test_bookings import MORNING


async def _race(client: httpx.AsyncClient, students: list, slot_id: str) -> Counter[int]:  # type: ignore[type-arg]
    responses = await asyncio.gather(*(book(client, s, slot_id) for s in students))
    codes = Counter(r.status_code for r in responses)
    problems = Counter(r.json()["code"] for r in responses if r.status_code == 409)
    assert set(problems) <= {"slot_full"}, problems
    return codes


async def test_200_concurrent_requests_for_a_one_seat_slot(
    client: httpx.AsyncClient, owner_db: Database, settings: Settings, market: MarketFactory
) -> None:
    m = await market(rule=MORNING)
    students = await many_students(owner_db, settings, 200)
    codes = await _race(client, students, m.open_slots[0]["id"])
    assert codes == Counter({201: 1, 409: 199})
    assert await scalar(owner_db, "SELECT count(*) FROM bookings") == 1
    assert await rows(
        owner_db, "SELECT status, seats_taken FROM slots WHERE id = :id", id=m.open_slots[0]["id"]
    ) == [("booked", 1)]
    assert await scalar(owner_db, OVERLAPS_SQL) == 0


async def test_200_concurrent_requests_for_a_five_seat_slot(
    client: httpx.AsyncClient, owner_db: Database, settings: Settings, market: MarketFactory
) -> None:
    m = await market(rule=MORNING, max_participants=5, price_cents=3000)
    students = await many_students(owner_db, settings, 200)
    codes = await _race(client, students, m.open_slots[0]["id"])
    assert codes == Counter({201: 5, 409: 195})
    assert await rows(owner_db, "SELECT status, count(*) FROM bookings GROUP BY status") == [
        ("pending_payment", 5)
    ]
    assert await rows(
        owner_db, "SELECT status, seats_taken FROM slots WHERE id = :id", id=m.open_slots[0]["id"]
    ) == [("held", 5)]
    assert await scalar(owner_db, SEATS_MISMATCH_SQL) == 0
    assert await scalar(owner_db, OVERLAPS_SQL) == 0


async def test_100_concurrent_reschedules(
    client: httpx.AsyncClient, owner_db: Database, settings: Settings, market: MarketFactory
) -> None:
    # Every day 00:00-23:45 UTC: 23 one-hour slots a day, plenty for 100 bookings + 20 targets.
    m = await market(rule={"start_time": "00:00", "end_time": "23:45", "rrule": "FREQ=DAILY"})
    students = await many_students(owner_db, settings, 100)
    sources, targets = m.open_slots[:100], m.open_slots[100:120]
    created = await asyncio.gather(
        *(book(client, s, slot["id"]) for s, slot in zip(students, sources, strict=True))
    )
    assert Counter(r.status_code for r in created) == Counter({201: 100})
    # Five students aim at each of 20 free slots at the same moment.
    moves = await asyncio.gather(
        *(
            client.post(
                f"{API}/bookings/{r.json()['id']}/reschedule",
                json={"slot_id": targets[i % 20]["id"]},
                headers=s.headers,
            )
            for i, (s, r) in enumerate(zip(students, created, strict=True))
        )
    )
    assert Counter(r.status_code for r in moves) == Counter({200: 20, 409: 80})
    assert {r.json()["code"] for r in moves if r.status_code == 409} == {"slot_full"}
    assert await scalar(owner_db, "SELECT count(*) FROM bookings WHERE status = 'confirmed'") == 100
    assert (
        await scalar(
            owner_db,
            "SELECT count(DISTINCT slot_id) FROM bookings "
            "WHERE slot_id = ANY(CAST(:ids AS uuid[]))",
            ids=[t["id"] for t in targets],
        )
        == 20
    )
    assert await scalar(owner_db, SEATS_MISMATCH_SQL) == 0
    assert await scalar(owner_db, OVERLAPS_SQL) == 0


async def test_the_database_refuses_overlaps_even_without_the_service(
    client: httpx.AsyncClient,
    database_urls: DatabaseUrls,
    market: MarketFactory,
    owner_db: Database,
    settings: Settings,
) -> None:
    m = await market(rule=MORNING)
    student, other = await many_students(owner_db, settings, 2)
    first = await book(client, student, m.open_slots[0]["id"])
    assert first.status_code == 201
    insert = """
        INSERT INTO bookings (student_id, tutor_id, offering_id, slot_id, start_at, end_at,
                              blocked_range, status, price_cents, currency)
        SELECT %s, tutor_id, offering_id, %s, start_at + interval '30 minutes',
               end_at + interval '30 minutes',
               tstzrange(start_at + interval '30 minutes', end_at + interval '30 minutes'),
               'confirmed', 0, 'USD'
        FROM slots WHERE id = %s
    """
    with psycopg.connect(database_urls.app) as conn:
        # Even a trusted writer that skips every application check is stopped by PostgreSQL.
        # (A unit of work that crosses users: the app's signed declaration.)
        conn.execute(SET_IDENTITY_SQL, signed_settings(Identity(crosses_users=True), TEST_RLS_KEY))
        with pytest.raises(psycopg.errors.ExclusionViolation) as info:
            conn.execute(insert, (other.id, m.open_slots[1]["id"], m.open_slots[0]["id"]))
        assert info.value.diag.constraint_name == "ex_bookings_tutor_overlap"
    assert await scalar(owner_db, "SELECT count(*) FROM bookings") == 1
