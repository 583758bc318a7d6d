"""Only tutors who may sell, sell: a tutor who is not verified, is unavailable, suspended or
deleted has no offerings or slots listed, and none of them can be booked or moved into."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from studyhall.db.engine import Database
from studyhall.scheduling.config import SchedulingSettings, scheduling_settings
from tests.conftest import run_jobs
from tests.scheduling.conftest import (
    API,
    SEATS_MISMATCH_SQL,
    Market,
    MarketFactory,
    book,
    execute,
    make_admin,
    rows,
    scalar,
    sign_up,
    slots,
)
from tests.scheduling.test_bookings import MORNING
from tests.scheduling.test_payment_wiring import grant

# How each way of not being allowed to sell is reached (by the row an admin or the tutor changes).
NOT_SELLING = {
    "pending": "UPDATE tutor_profiles SET verification_status = 'pending' WHERE user_id = :id",
    "rejected": "UPDATE tutor_profiles SET verification_status = 'rejected' WHERE user_id = :id",
    "unavailable": "UPDATE tutor_profiles SET is_available = false WHERE user_id = :id",
    "suspended": "UPDATE users SET status = 'suspended' WHERE id = :id",
    "deleted": "UPDATE users SET status = 'deleted', deleted_at = now() WHERE id = :id",
}
SELLING_AGAIN = (
    "UPDATE tutor_profiles SET verification_status = 'verified', is_available = true "
    "WHERE user_id = :id",
    "UPDATE users SET status = 'active', deleted_at = NULL WHERE id = :id",
)


async def all_slot_ids(owner_db: Database, market: Market) -> list[str]:
    """Every materialized slot, read behind the API's back (the listing may hide them)."""
    found = await rows(
        owner_db,
        "SELECT id::text FROM slots WHERE tutor_id = :t ORDER BY start_at",
        t=market.tutor.id,
    )
    return [row[0] for row in found]


async def public_view(client: httpx.AsyncClient, m: Market) -> dict[str, int]:
    """How much of the tutor's catalogue anyone can see."""
    offering_id = m.offering["id"]
    by_tag = await client.get(f"{API}/offerings", params={"tag": "algebra"})
    by_tutor = await client.get(f"{API}/offerings", params={"tutor_id": str(m.tutor.id)})
    one = await client.get(f"{API}/offerings/{offering_id}")
    return {
        "slots_by_tutor": len(await slots(client, tutor_id=m.tutor.id, days=3)),
        "slots_by_offering": len(await slots(client, offering_id=offering_id, days=3)),
        "offerings_by_tag": sum(o["id"] == offering_id for o in by_tag.json()["items"]),
        "offerings_by_tutor": len(by_tutor.json()["items"]),
        "offering": int(one.status_code == 200),
    }


NOTHING = dict.fromkeys(
    ("slots_by_tutor", "slots_by_offering", "offerings_by_tag", "offerings_by_tutor", "offering"),
    0,
)


@pytest.mark.parametrize("state", list(NOT_SELLING))
async def test_a_tutor_who_may_not_sell_lists_nothing_and_takes_no_booking(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory, state: str
) -> None:
    m = await market(rule=MORNING)
    assert await public_view(client, m) == {
        "slots_by_tutor": 3,
        "slots_by_offering": 3,
        "offerings_by_tag": 1,
        "offerings_by_tutor": 1,
        "offering": 1,
    }
    await execute(owner_db, NOT_SELLING[state], id=m.tutor.id)
    student = await sign_up(client)
    assert await public_view(client, m) == NOTHING
    for slot_id in await all_slot_ids(owner_db, m):
        refused = await book(client, student, slot_id)
        assert (refused.status_code, refused.json()["code"]) == (409, "tutor_not_bookable")
    assert await scalar(owner_db, "SELECT count(*) FROM bookings") == 0
    assert await scalar(owner_db, "SELECT sum(seats_taken) FROM slots") == 0

    # The same tutor, allowed to sell again, is back on sale: the refusal was about the tutor.
    for statement in SELLING_AGAIN:
        await execute(owner_db, statement, id=m.tutor.id)
    assert await public_view(client, m) == {
        "slots_by_tutor": 3,
        "slots_by_offering": 3,
        "offerings_by_tag": 1,
        "offerings_by_tutor": 1,
        "offering": 1,
    }
    assert (await book(client, student, m.open_slots[0]["id"])).status_code == 201


async def test_an_unverified_tutor_still_sees_their_own_catalogue(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    tutor = await sign_up(client, "tutor", verified=False)
    created = await client.post(
        f"{API}/offerings",
        json={
            "title": "Algebra 1:1",
            "description": "Linear equations.",
            "duration_minutes": 60,
            "price_cents": 0,
            "currency": "USD",
        },
        headers=tutor.headers,
    )
    assert created.status_code == 201, created.text
    offering_id = created.json()["id"]
    mine = await client.get(
        f"{API}/offerings", params={"tutor_id": str(tutor.id)}, headers=tutor.headers
    )
    assert [o["id"] for o in mine.json()["items"]] == [offering_id]
    own = await client.get(f"{API}/offerings/{offering_id}", headers=tutor.headers)
    assert own.status_code == 200
    other = await sign_up(client)
    theirs = await client.get(
        f"{API}/offerings", params={"tutor_id": str(tutor.id)}, headers=other.headers
    )
    assert theirs.json() == {"items": [], "next_cursor": None}
    hidden = await client.get(f"{API}/offerings/{offering_id}", headers=other.headers)
    assert (hidden.status_code, hidden.json()["code"]) == (404, "offering_not_found")


async def test_paid_bookings_of_an_unverified_tutor_are_refused_before_any_payment(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory
) -> None:
    m = await market(rule=MORNING, price_cents=2500)
    await execute(owner_db, NOT_SELLING["pending"], id=m.tutor.id)
    student = await sign_up(client)
    await grant(owner_db, student, 100)
    slot_id = m.open_slots[0]["id"]
    for extra in ({}, {"pay_with": "credits"}, {"provider": "manual"}):
        refused = await book(client, student, slot_id, **extra)
        assert (refused.status_code, refused.json()["code"]) == (409, "tutor_not_bookable")
    assert await rows(
        owner_db,
        "SELECT (SELECT count(*) FROM bookings), (SELECT count(*) FROM payments), "
        "(SELECT credit_balance FROM student_profiles WHERE user_id = :u)",
        u=student.id,
    ) == [(0, 0, 100)]


async def test_moving_into_a_slot_of_a_tutor_who_stopped_selling_is_refused(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory
) -> None:
    m = await market(rule=MORNING)
    student = await sign_up(client)
    booking = (await book(client, student, m.open_slots[0]["id"])).json()
    await execute(owner_db, NOT_SELLING["unavailable"], id=m.tutor.id)
    moved = await client.post(
        f"{API}/bookings/{booking['id']}/reschedule",
        json={"slot_id": m.open_slots[2]["id"]},
        headers=student.headers,
    )
    assert (moved.status_code, moved.json()["code"]) == (409, "tutor_not_bookable")
    assert await rows(
        owner_db, "SELECT slot_id::text, status FROM bookings WHERE id = :id", id=booking["id"]
    ) == [(m.open_slots[0]["id"], "confirmed")]
    assert await scalar(owner_db, SEATS_MISMATCH_SQL) == 0


@pytest.fixture
def unverified_may_sell(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("STUDYHALL_SELL_UNVERIFIED_TUTORS", "true")
    scheduling_settings.cache_clear()
    yield
    scheduling_settings.cache_clear()


def test_only_verified_tutors_sell_unless_a_deployment_says_otherwise() -> None:
    assert SchedulingSettings(_env_file=None).sell_unverified_tutors is False  # type: ignore[call-arg]


async def test_the_setting_lets_pending_tutors_sell_but_never_rejected_ones(
    client: httpx.AsyncClient,
    owner_db: Database,
    market: MarketFactory,
    unverified_may_sell: None,
) -> None:
    m = await market(rule=MORNING)
    await execute(owner_db, NOT_SELLING["pending"], id=m.tutor.id)
    student = await sign_up(client)
    assert (await public_view(client, m))["slots_by_tutor"] == 3
    assert (await book(client, student, m.open_slots[0]["id"])).status_code == 201
    await execute(owner_db, NOT_SELLING["rejected"], id=m.tutor.id)
    assert await public_view(client, m) == NOTHING
    refused = await book(client, student, m.open_slots[2]["id"])
    assert (refused.status_code, refused.json()["code"]) == (409, "tutor_not_bookable")


async def test_bookings_racing_a_suspension_are_refused_or_canceled(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory
) -> None:
    m = await market(rule={"start_time": "08:00", "end_time": "20:00", "rrule": "FREQ=DAILY"})
    admin = await make_admin(client, owner_db)
    students = [await sign_up(client) for _ in range(8)]
    targets = [s["id"] for s in m.open_slots[5:13]]

    async def suspend() -> httpx.Response:
        await asyncio.sleep(0.01)
        return await client.post(
            f"{API}/admin/users/{m.tutor.id}/suspend",
            json={"reason": "fraud"},
            headers=admin.headers,
        )

    *booked, suspended = await asyncio.gather(
        *(book(client, s, slot_id) for s, slot_id in zip(students, targets, strict=True)),
        suspend(),
    )
    assert suspended.status_code == 200, suspended.text
    for answer in booked:
        assert answer.status_code == 201 or (
            answer.status_code,
            answer.json()["code"],
        ) == (409, "tutor_not_bookable"), answer.text
    await run_jobs()
    # Whichever side of the suspension a booking fell on, none of them is left standing.
    assert (
        await scalar(
            owner_db,
            "SELECT count(*) FROM bookings WHERE tutor_id = :t AND status <> 'canceled'",
            t=m.tutor.id,
        )
        == 0
    )
    assert await scalar(owner_db, "SELECT count(*) FROM bookings") == sum(
        a.status_code == 201 for a in booked
    )
    assert await scalar(owner_db, SEATS_MISMATCH_SQL) == 0
