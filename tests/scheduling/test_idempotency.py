from __future__ import annotations

import asyncio
from collections import Counter

import httpx

from studyhall.db.engine import Database
from tests.scheduling.conftest import API, MarketFactory, scalar, sign_up
from tests.scheduling.test_bookings import MORNING


async def test_same_key_same_body_replays_the_stored_booking(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory
) -> None:
    m = await market(rule=MORNING)
    student = await sign_up(client)
    headers = {**student.headers, "Idempotency-Key": "book-once-1"}
    body = {"slot_id": m.open_slots[0]["id"], "notes": "hi"}
    first = await client.post(f"{API}/bookings", json=body, headers=headers)
    again = await client.post(f"{API}/bookings", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await scalar(owner_db, "SELECT count(*) FROM bookings") == 1
    different = await client.post(
        f"{API}/bookings", json={**body, "slot_id": m.open_slots[1]["id"]}, headers=headers
    )
    assert (different.status_code, different.json()["code"]) == (409, "idempotency_key_reused")
    assert await scalar(owner_db, "SELECT count(*) FROM bookings") == 1
    assert await scalar(owner_db, "SELECT sum(seats_taken) FROM slots") == 1


async def test_concurrent_retries_with_one_key_book_once(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory
) -> None:
    m = await market(rule=MORNING, max_participants=5)
    student = await sign_up(client)
    headers = {**student.headers, "Idempotency-Key": "retry-storm"}
    body = {"slot_id": m.open_slots[0]["id"]}
    responses = await asyncio.gather(
        *(client.post(f"{API}/bookings", json=body, headers=headers) for _ in range(20))
    )
    assert Counter(r.status_code for r in responses) == Counter({201: 20})
    assert {r.json()["id"] for r in responses} == {responses[0].json()["id"]}
    assert await scalar(owner_db, "SELECT count(*) FROM bookings") == 1
    assert (
        await scalar(
            owner_db, "SELECT seats_taken FROM slots WHERE id = :id", id=m.open_slots[0]["id"]
        )
        == 1
    )


async def test_a_paid_booking_replays_its_payment_byte_for_byte(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory
) -> None:
    m = await market(rule=MORNING, price_cents=5000)
    student = await sign_up(client)
    headers = {**student.headers, "Idempotency-Key": "pay-once-1"}
    body = {"slot_id": m.open_slots[0]["id"], "provider": "manual"}
    first = await client.post(f"{API}/bookings", json=body, headers=headers)
    again = await client.post(f"{API}/bookings", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201), first.text
    assert first.json()["payment"]["provider"] == "manual"
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await scalar(owner_db, "SELECT count(*) FROM payments") == 1
    # Without a key the same contract holds for a single attempt: the key is optional.
    other = await client.post(
        f"{API}/bookings",
        json={"slot_id": m.open_slots[2]["id"], "provider": "manual"},
        headers=student.headers,
    )
    assert other.status_code == 201, other.text
    assert await scalar(owner_db, "SELECT count(*) FROM payments") == 2
