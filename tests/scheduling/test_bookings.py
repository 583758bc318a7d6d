from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from studyhall.db.engine import Database
from studyhall.kit.errors import Conflict, Unprocessable
from studyhall.scheduling import service
from studyhall.scheduling.models import Booking
from tests.conftest import run_jobs
from tests.scheduling.conftest import (
    API,
    MarketFactory,
    book,
    create_offering,
    execute,
    rows,
    scalar,
    set_settings,
    sign_up,
    slots,
)

TOMORROW = (date.today() + timedelta(days=1)).isoformat()
MORNING = {"start_date": TOMORROW, "start_time": "09:00", "end_time": "12:00", "rrule": None}


async def test_free_booking_confirms_at_once_and_hides_the_slot(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory
) -> None:
    m = await market(rule=MORNING)
    assert [s["start_at"][11:16] for s in m.open_slots] == ["09:00", "10:00", "11:00"]
    student = await sign_up(client, "student", name="Sam Student")
    await execute(
        owner_db,
        "INSERT INTO tutor_profiles (user_id, bio, meeting_link) "
        "VALUES (:id, 'Maths teacher', 'https://meet.example.com/tess') "
        "ON CONFLICT (user_id) DO UPDATE SET bio = EXCLUDED.bio, "
        "meeting_link = EXCLUDED.meeting_link",
        id=m.tutor.id,
    )
    response = await book(client, student, m.open_slots[0]["id"], notes="Chapter 3 please")
    assert response.status_code == 201, response.text
    booking = response.json()
    assert (booking["status"], booking["payment_status"], booking["hold_expires_at"]) == (
        "confirmed",
        "not_required",
        None,
    )
    assert (booking["start_at"], booking["student_notes"], booking["join_link"]) == (
        m.open_slots[0]["start_at"],
        "Chapter 3 please",
        "https://meet.example.com/tess",
    )
    assert (
        await scalar(
            owner_db,
            "SELECT status || '/' || seats_taken FROM slots WHERE id = :id",
            id=m.open_slots[0]["id"],
        )
        == "booked/1"
    )
    listed = await slots(client, tutor_id=m.tutor.id, days=3)
    assert [s["id"] for s in listed] == [s["id"] for s in m.open_slots[1:]]
    details = await client.get(f"{API}/bookings/{booking['id']}", headers=m.tutor.headers)
    assert details.status_code == 200
    assert {
        k: details.json()[k]
        for k in (
            "offering_title",
            "tutor_name",
            "tutor_bio",
            "student_name",
            "duration_minutes",
            "slot_start_at",
        )
    } == {
        "offering_title": "Algebra 1:1",
        "tutor_name": "Tess Tutor",
        "tutor_bio": "Maths teacher",
        "student_name": "Sam Student",
        "duration_minutes": 60,
        "slot_start_at": m.open_slots[0]["start_at"],
    }
    assert (
        await scalar(owner_db, "SELECT count(*) FROM audit_log WHERE action = 'booking.create'")
        == 1
    )
    assert (
        await scalar(
            owner_db,
            "SELECT count(*) FROM procrastinate_jobs WHERE task_name = "
            "'studyhall.scheduling.sync_calendar_events' AND status = 'todo'",
        )
        == 1
    )


async def test_bad_bookings_get_precise_codes_and_change_nothing(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory
) -> None:
    m = await market(rule=MORNING)
    student = await sign_up(client, "student")
    own = await book(client, m.tutor, m.open_slots[0]["id"])
    assert (own.status_code, own.json()["code"]) == (422, "own_offering")
    missing = await book(client, student, str(uuid.uuid4()))
    assert (missing.status_code, missing.json()["code"]) == (404, "slot_not_found")
    await execute(
        owner_db,
        "UPDATE slots SET start_at = now() - interval '2 hours', "
        "end_at = now() - interval '1 hour' WHERE id = :id",
        id=m.open_slots[0]["id"],
    )
    await execute(
        owner_db, "UPDATE slots SET status = 'closed' WHERE id = :id", id=m.open_slots[1]["id"]
    )
    past = await book(client, student, m.open_slots[0]["id"])
    assert (past.status_code, past.json()["code"]) == (422, "slot_in_past")
    closed = await book(client, student, m.open_slots[1]["id"])
    assert (closed.status_code, closed.json()["code"]) == (409, "slot_closed")
    first = await book(client, student, m.open_slots[2]["id"])
    assert first.status_code == 201
    other = await sign_up(client, "student")
    full = await book(client, other, m.open_slots[2]["id"])
    assert (full.status_code, full.json()["code"]) == (409, "slot_full")
    assert await scalar(owner_db, "SELECT count(*) FROM bookings") == 1
    assert await scalar(owner_db, "SELECT sum(seats_taken) FROM slots") == 1
    nosy = await client.get(f"{API}/bookings/{first.json()['id']}", headers=other.headers)
    assert (nosy.status_code, nosy.json()["code"]) == (404, "booking_not_found")
    cancel = await client.post(
        f"{API}/bookings/{first.json()['id']}/cancel", json={}, headers=other.headers
    )
    assert cancel.status_code == 404
    assert await scalar(owner_db, "SELECT status FROM bookings") == "confirmed"


async def test_paid_hold_expiry_never_blocks_the_slot(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory
) -> None:
    m = await market(rule=MORNING, price_cents=12000, currency="DKK")
    slot_id = m.open_slots[0]["id"]
    first, second = await sign_up(client), await sign_up(client)
    held = await book(client, first, slot_id)
    assert held.status_code == 201
    hold = held.json()
    assert (hold["status"], hold["payment_status"], hold["price_cents"], hold["currency"]) == (
        "pending_payment",
        "pending",
        12000,
        "DKK",
    )
    expires = datetime.fromisoformat(hold["hold_expires_at"])
    assert timedelta(minutes=9) < expires - datetime.now(UTC) <= timedelta(minutes=10)
    assert await scalar(owner_db, "SELECT status FROM slots WHERE id = :id", id=slot_id) == "held"
    blocked = await book(client, second, slot_id)
    assert (blocked.status_code, blocked.json()["code"]) == (409, "slot_full")
    await execute(owner_db, "UPDATE bookings SET hold_expires_at = now() - interval '1 second'")
    # The expired hold is listed as free again, and the next booking clears it in its own
    # transaction, before any job has run.
    assert slot_id in [s["id"] for s in await slots(client, tutor_id=m.tutor.id, days=3)]
    taken = await book(client, second, slot_id)
    assert taken.status_code == 201, taken.text
    assert await rows(
        owner_db,
        "SELECT status, canceled_by, cancellation_reason, payment_status "
        "FROM bookings WHERE id = :id",
        id=hold["id"],
    ) == [("canceled", "system", "hold_expired", "canceled")]
    assert await scalar(owner_db, "SELECT seats_taken FROM slots WHERE id = :id", id=slot_id) == 1


async def test_release_job_frees_expired_holds(
    client: httpx.AsyncClient, owner_db: Database, db: Database, market: MarketFactory
) -> None:
    m = await market(rule=MORNING, price_cents=5000)
    student = await sign_up(client)
    hold = (await book(client, student, m.open_slots[0]["id"])).json()
    await execute(owner_db, "UPDATE bookings SET hold_expires_at = now() - interval '1 second'")
    from studyhall.scheduling.jobs import release_expired_holds

    await release_expired_holds()
    assert await rows(owner_db, "SELECT status, cancellation_reason FROM bookings") == [
        ("canceled", "hold_expired")
    ]
    assert await rows(
        owner_db, "SELECT status, seats_taken FROM slots WHERE id = :id", id=m.open_slots[0]["id"]
    ) == [("open", 0)]
    async with db.transaction() as session:
        with pytest.raises(Conflict) as info:
            await service.confirm_booking_payment(session, uuid.UUID(hold["id"]), "pi_1", 5000)
    assert info.value.code == "hold_not_active"


async def test_payment_confirms_a_hold_once(
    client: httpx.AsyncClient, owner_db: Database, db: Database, market: MarketFactory
) -> None:
    m = await market(rule=MORNING, price_cents=5000)
    student = await sign_up(client)
    hold = (await book(client, student, m.open_slots[0]["id"])).json()
    booking_id = uuid.UUID(hold["id"])
    async with db.transaction() as session:
        with pytest.raises(Unprocessable) as info:
            await service.confirm_booking_payment(session, booking_id, "pi_1", 4999)
    assert info.value.code == "amount_mismatch"
    for _ in range(2):
        async with db.transaction() as session:
            booking = await service.confirm_booking_payment(session, booking_id, "pi_1", 5000)
            assert booking.status == "confirmed"
    assert await rows(
        owner_db,
        "SELECT status, payment_status, amount_captured_cents, payment_ref, hold_expires_at, "
        "sequence FROM bookings",
    ) == [("confirmed", "captured", 5000, "pi_1", None, 1)]
    assert (
        await scalar(owner_db, "SELECT status FROM slots WHERE id = :id", id=m.open_slots[0]["id"])
        == "booked"
    )
    assert (
        await scalar(
            owner_db, "SELECT count(*) FROM audit_log WHERE action = 'booking.payment_confirmed'"
        )
        == 1
    )


async def test_release_hold_service_is_idempotent(
    client: httpx.AsyncClient, owner_db: Database, db: Database, market: MarketFactory
) -> None:
    m = await market(rule=MORNING, price_cents=5000)
    student = await sign_up(client)
    hold = (await book(client, student, m.open_slots[0]["id"])).json()
    for _ in range(2):
        async with db.transaction() as session:
            released = await service.release_hold(session, uuid.UUID(hold["id"]), "payment_failed")
            assert released.status == "canceled"
    assert await rows(owner_db, "SELECT cancellation_reason, refund_due_cents FROM bookings") == [
        ("payment_failed", 0)
    ]
    assert (
        await scalar(
            owner_db, "SELECT seats_taken FROM slots WHERE id = :id", id=m.open_slots[0]["id"]
        )
        == 0
    )


def _booking(start_in: timedelta, captured: int, late_percent: int = 0) -> Booking:
    now = datetime(2027, 1, 1, 12, tzinfo=UTC)
    return Booking(
        start_at=now + start_in,
        end_at=now + start_in + timedelta(hours=1),
        amount_captured_cents=captured,
        amount_refunded_cents=0,
        full_refund_notice_hours=24,
        late_refund_percent=late_percent,
    )


@pytest.mark.parametrize(
    ("start_in", "by", "late_percent", "expected"),
    [
        (timedelta(hours=24), "student", 0, 10000),
        (timedelta(hours=23, minutes=59), "student", 0, 0),
        (timedelta(hours=2), "student", 50, 5000),
        (timedelta(hours=2), "tutor", 0, 10000),
        (timedelta(hours=2), "admin", 0, 10000),
        (timedelta(days=5), "student", 0, 10000),
    ],
)
def test_refund_policy(start_in: timedelta, by: str, late_percent: int, expected: int) -> None:
    now = datetime(2027, 1, 1, 12, tzinfo=UTC)
    assert service.refund_due(_booking(start_in, 10000, late_percent), by, now) == expected


async def test_cancel_records_the_refund_and_frees_the_seat(
    client: httpx.AsyncClient, owner_db: Database, db: Database, market: MarketFactory
) -> None:
    m = await market(
        rule=MORNING,
        price_cents=8000,
        settings={"full_refund_notice_hours": 72, "late_refund_percent": 25},
    )
    student = await sign_up(client)
    ids = []
    for slot in m.open_slots[:2]:
        hold = (await book(client, student, slot["id"])).json()
        async with db.transaction() as session:
            await service.confirm_booking_payment(
                session, uuid.UUID(hold["id"]), f"pi_{slot['id']}", 8000
            )
        ids.append(hold["id"])
    # Tomorrow morning is less than the 72 h notice away: the student gets the late 25 %,
    # the tutor's cancellation refunds everything.
    late = await client.post(
        f"{API}/bookings/{ids[0]}/cancel", json={"reason": "ill"}, headers=student.headers
    )
    assert late.status_code == 200
    tutor_cancel = await client.post(
        f"{API}/bookings/{ids[1]}/cancel", json={}, headers=m.tutor.headers
    )
    assert tutor_cancel.status_code == 200
    assert (late.json()["canceled_by"], late.json()["refund_due_cents"]) == ("student", 2000)
    assert (tutor_cancel.json()["canceled_by"], tutor_cancel.json()["refund_due_cents"]) == (
        "tutor",
        8000,
    )
    again = await client.post(f"{API}/bookings/{ids[0]}/cancel", json={}, headers=student.headers)
    assert (again.status_code, again.json()["code"]) == (409, "booking_not_active")
    assert await scalar(owner_db, "SELECT sum(seats_taken) FROM slots") == 0
    assert len(await slots(client, tutor_id=m.tutor.id, days=3)) == 3


async def test_reschedule_moves_atomically(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory
) -> None:
    m = await market(rule=MORNING)
    a, b = await sign_up(client), await sign_up(client)
    first = (await book(client, a, m.open_slots[0]["id"])).json()
    assert (await book(client, b, m.open_slots[1]["id"])).status_code == 201
    full = await client.post(
        f"{API}/bookings/{first['id']}/reschedule",
        json={"slot_id": m.open_slots[1]["id"]},
        headers=a.headers,
    )
    assert (full.status_code, full.json()["code"]) == (409, "slot_full")
    assert (
        await scalar(owner_db, "SELECT slot_id::text FROM bookings WHERE id = :id", id=first["id"])
        == m.open_slots[0]["id"]
    )
    moved = await client.post(
        f"{API}/bookings/{first['id']}/reschedule",
        json={"slot_id": m.open_slots[2]["id"]},
        headers=a.headers,
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["start_at"], moved.json()["sequence"]) == (m.open_slots[2]["start_at"], 1)
    assert await rows(owner_db, "SELECT seats_taken FROM slots ORDER BY start_at LIMIT 3") == [
        (0,),
        (1,),
        (1,),
    ]
    other = await create_offering(client, m.tutor, title="Other")
    await run_jobs()
    foreign = await slots(client, offering_id=other["id"], days=3)
    wrong = await client.post(
        f"{API}/bookings/{first['id']}/reschedule",
        json={"slot_id": foreign[0]["id"]},
        headers=a.headers,
    )
    assert (wrong.status_code, wrong.json()["code"]) == (422, "different_offering")


async def test_approval_flow(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory
) -> None:
    m = await market(rule=MORNING, requires_approval=True)
    a, b = await sign_up(client), await sign_up(client)
    one = (await book(client, a, m.open_slots[0]["id"])).json()
    two = (await book(client, b, m.open_slots[1]["id"])).json()
    assert (one["status"], two["status"]) == ("pending_approval", "pending_approval")
    denied = await client.post(f"{API}/bookings/{one['id']}/approve", headers=a.headers)
    assert denied.status_code == 403
    approved = await client.post(f"{API}/bookings/{one['id']}/approve", headers=m.tutor.headers)
    assert (approved.status_code, approved.json()["status"]) == (200, "confirmed")
    declined = await client.post(
        f"{API}/bookings/{two['id']}/decline",
        json={"reason": "Not my level"},
        headers=m.tutor.headers,
    )
    assert declined.json()["status"] == "declined"
    assert await rows(
        owner_db, "SELECT status, seats_taken FROM slots ORDER BY start_at LIMIT 2"
    ) == [("booked", 1), ("open", 0)]


async def test_buffers_caps_and_student_overlap(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory
) -> None:
    m = await market(rule=MORNING, settings={"buffer_after_minutes": 30, "max_bookings_per_day": 2})
    a, b, c = await sign_up(client), await sign_up(client), await sign_up(client)
    assert (await book(client, a, m.open_slots[0]["id"])).status_code == 201
    # 10:00 is inside 09:00's 30-minute buffer: hidden from listings and refused by the
    # exclusion constraint.
    listed = await slots(client, tutor_id=m.tutor.id, days=3)
    assert [s["start_at"][11:16] for s in listed] == ["11:00"]
    buffered = await book(client, b, m.open_slots[1]["id"])
    assert (buffered.status_code, buffered.json()["code"]) == (409, "tutor_unavailable")
    assert (await book(client, b, m.open_slots[2]["id"])).status_code == 201
    other = await market(rule=MORNING)
    overlap = await book(client, a, other.open_slots[0]["id"])
    assert (overlap.status_code, overlap.json()["code"]) == (409, "student_overlap")
    await set_settings(client, m.tutor, buffer_after_minutes=0, max_bookings_per_day=2)
    capped = await book(client, c, m.open_slots[1]["id"])
    assert (capped.status_code, capped.json()["code"]) == (409, "daily_limit_reached")
    assert await scalar(owner_db, "SELECT count(*) FROM bookings") == 2


async def test_completion_job(
    client: httpx.AsyncClient, owner_db: Database, db: Database, market: MarketFactory
) -> None:
    m = await market(rule=MORNING)
    student = await sign_up(client)
    done = (await book(client, student, m.open_slots[0]["id"])).json()
    await book(client, student, m.open_slots[1]["id"])
    await execute(
        owner_db,
        "UPDATE bookings SET start_at = now() - interval '2 hours', "
        "end_at = now() - interval '1 hour', "
        "blocked_range = tstzrange(now() - interval '2 hours', now() - interval '1 hour') "
        "WHERE id = :id",
        id=done["id"],
    )
    from studyhall.scheduling.jobs import complete_finished

    assert await complete_finished() == [uuid.UUID(done["id"])]
    assert await rows(owner_db, "SELECT status FROM bookings ORDER BY start_at") == [
        ("completed",),
        ("confirmed",),
    ]


async def test_parties_write_their_own_notes_and_the_tutor_the_join_link(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory
) -> None:
    m = await market(rule=MORNING)
    student = await sign_up(client)
    booking = (await book(client, student, m.open_slots[0]["id"], notes="first")).json()
    url = f"{API}/bookings/{booking['id']}"
    denied = await client.patch(
        url, json={"join_link": "https://meet.example.com/x"}, headers=student.headers
    )
    assert (denied.status_code, denied.json()["code"]) == (403, "tutor_only_field")
    mine = await client.patch(url, json={"notes": "bring exercises"}, headers=student.headers)
    assert mine.status_code == 200
    tutor = await client.patch(
        url,
        json={"notes": "focus on fractions", "join_link": "https://meet.example.com/abc"},
        headers=m.tutor.headers,
    )
    assert tutor.status_code == 200
    assert await rows(
        owner_db, "SELECT student_notes, tutor_notes, join_link, sequence FROM bookings"
    ) == [("bring exercises", "focus on fractions", "https://meet.example.com/abc", 1)]


async def test_a_students_expired_hold_elsewhere_does_not_block_them(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory
) -> None:
    paid = await market(rule=MORNING, price_cents=4000)
    free = await market(rule=MORNING)
    student = await sign_up(client)
    hold = (await book(client, student, paid.open_slots[0]["id"])).json()
    clash = await book(client, student, free.open_slots[0]["id"])
    assert (clash.status_code, clash.json()["code"]) == (409, "student_overlap")
    await execute(owner_db, "UPDATE bookings SET hold_expires_at = now() - interval '1 second'")
    taken = await book(client, student, free.open_slots[0]["id"])
    assert taken.status_code == 201, taken.text
    assert await rows(
        owner_db, "SELECT status, cancellation_reason FROM bookings WHERE id = :id", id=hold["id"]
    ) == [("canceled", "hold_expired")]
    assert (
        await scalar(
            owner_db, "SELECT seats_taken FROM slots WHERE id = :id", id=paid.open_slots[0]["id"]
        )
        == 0
    )


async def test_weekly_cap_counts_in_the_tutors_week(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory
) -> None:
    m = await market(rule=MORNING, settings={"max_bookings_per_week": 1})
    a, b = await sign_up(client), await sign_up(client)
    assert (await book(client, a, m.open_slots[0]["id"])).status_code == 201
    capped = await book(client, b, m.open_slots[2]["id"])
    assert (capped.status_code, capped.json()["code"]) == (409, "weekly_limit_reached")
    assert await scalar(owner_db, "SELECT count(*) FROM bookings") == 1
    assert await scalar(owner_db, "SELECT sum(seats_taken) FROM slots") == 1
