"""Seeded random sequences of book / cancel / reschedule through the API: the seat counters and
the no-overlap invariants hold after every run, and each answer matches what the database did."""

from __future__ import annotations

import random

import httpx
import pytest

from studyhall.db.engine import Database
from tests.scheduling.conftest import (
    API,
    OVERLAPS_SQL,
    SEATS_MISMATCH_SQL,
    MarketFactory,
    book,
    scalar,
    sign_up,
)

ACTIVE = "('pending_payment', 'pending_approval', 'confirmed')"


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_random_operations_keep_the_invariants(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory, seed: int
) -> None:
    rng = random.Random(seed)
    group = await market(
        rule={"start_time": "08:00", "end_time": "14:00", "rrule": "FREQ=DAILY;COUNT=2"},
        max_participants=2,
        settings={"buffer_after_minutes": 15},
    )
    slots = group.open_slots[:8]
    students = [await sign_up(client) for _ in range(4)]
    mine: dict[int, list[str]] = {i: [] for i in range(len(students))}
    for _ in range(60):
        who = rng.randrange(len(students))
        person = students[who]
        action = rng.choice(["book", "book", "cancel", "move"])
        if action == "book" or not mine[who]:
            response = await book(client, person, rng.choice(slots)["id"])
            if response.status_code == 201:
                mine[who].append(response.json()["id"])
            else:
                assert response.status_code == 409, response.text
                assert response.json()["code"] in {
                    "slot_full",
                    "student_overlap",
                    "tutor_unavailable",
                }
        elif action == "cancel":
            booking_id = mine[who].pop(rng.randrange(len(mine[who])))
            response = await client.post(
                f"{API}/bookings/{booking_id}/cancel", json={}, headers=person.headers
            )
            assert response.status_code == 200, response.text
        else:
            booking_id = rng.choice(mine[who])
            target = rng.choice(slots)["id"]
            before = await scalar(
                owner_db, "SELECT slot_id::text FROM bookings WHERE id = :id", id=booking_id
            )
            response = await client.post(
                f"{API}/bookings/{booking_id}/reschedule",
                json={"slot_id": target},
                headers=person.headers,
            )
            after = await scalar(
                owner_db, "SELECT slot_id::text FROM bookings WHERE id = :id", id=booking_id
            )
            if response.status_code == 200:
                assert after == target
            else:
                assert response.status_code in (409, 422), response.text
                assert after == before
        assert await scalar(owner_db, SEATS_MISMATCH_SQL) == 0
    assert await scalar(owner_db, OVERLAPS_SQL) == 0
    assert await scalar(owner_db, f"SELECT count(*) FROM bookings WHERE status IN {ACTIVE}") == sum(
        len(ids) for ids in mine.values()
    )
