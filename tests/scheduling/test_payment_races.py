"""A booking's cancellation racing its payment's webhooks, on separate connections, many rounds.

The cancellation locks the booking's payment rows before the tutor's schedule row, the order a
webhook's application takes (payment, then schedule, then booking), so PostgreSQL never has to
break a deadlock and both sides always succeed.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from studyhall.billing.service import webhooks
from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.db.rls import cross_users
from tests.billing.conftest import SECRET
from tests.billing.fakes import FakeApi, serve
from tests.billing.test_stripe import deliver, event, refunded, succeeded
from tests.conftest import run_jobs
from tests.scheduling.conftest import (
    API,
    MarketFactory,
    Person,
    book,
    many_students,
    rows,
    set_settings,
    use_billing,
)
from tests.scheduling.test_payment_wiring import later_than

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")

PRICE = 2500
ROUNDS = 20


@pytest.fixture
def stripe_api() -> Iterator[FakeApi]:
    with serve("stripe") as api:
        use_billing(
            default_provider="stripe",
            stripe_api_key=SecretStr("sk_test_local"),
            stripe_api_base=api.url,
            stripe_webhook_secrets=[SecretStr(SECRET)],
        )
        yield api


async def _book_on_stripe(
    client: httpx.AsyncClient, students: list[Person], slot_ids: list[str]
) -> list[dict[str, Any]]:
    booked = []
    for student, slot_id in zip(students, slot_ids, strict=True):
        response = await book(client, student, slot_id)
        assert response.status_code == 201, response.text
        body = response.json()
        assert (body["status"], body["payment"]["status"]) == ("pending_payment", "pending")
        booked.append(body)
    return booked


async def _intent(owner_db: Database, payment_id: str) -> str:
    found = await rows(
        owner_db, "SELECT provider_payment_id FROM payments WHERE id = :id", id=payment_id
    )
    return str(found[0][0])


async def _stored_event(client: httpx.AsyncClient, owner_db: Database, payload: str) -> uuid.UUID:
    response = await deliver(client, payload)
    assert response.status_code == 200, response.text
    found = await rows(
        owner_db,
        "SELECT id FROM webhook_events WHERE event_id = :e",
        e=response.json()["event_id"],
    )
    return uuid.UUID(str(found[0][0]))


async def _apply(db: Database, row_id: uuid.UUID) -> bool:
    async with db.transaction() as session:
        await cross_users(session)
        return await webhooks.apply(session, row_id)


async def _cancel(client: httpx.AsyncClient, student: Person, booking_id: str) -> int:
    response = await client.post(
        f"{API}/bookings/{booking_id}/cancel", json={}, headers=student.headers
    )
    assert response.status_code == 200, response.text
    return response.status_code


async def _end_states(owner_db: Database, booking_ids: list[str]) -> list[tuple[Any, ...]]:
    return await rows(
        owner_db,
        "SELECT b.status, b.payment_status, b.amount_captured_cents, b.amount_refunded_cents, "
        "b.refund_due_cents, p.status, p.amount_refunded_cents, "
        "(SELECT coalesce(sum(r.amount_cents), 0) FROM refunds r "
        " WHERE r.payment_id = p.id AND r.status = 'succeeded') "
        "FROM bookings b JOIN payments p ON p.purpose_id = b.id "
        "WHERE b.id = ANY(CAST(:ids AS uuid[])) ORDER BY b.id",
        ids=booking_ids,
    )


async def test_a_cancellation_racing_the_success_webhook_ends_refunded_either_way(
    client: httpx.AsyncClient,
    owner_db: Database,
    db: Database,
    settings: Settings,
    market: MarketFactory,
    stripe_api: FakeApi,
) -> None:
    m = await market(price_cents=PRICE)
    await set_settings(client, m.tutor, full_refund_notice_hours=1, late_refund_percent=0)
    students = await many_students(owner_db, settings, ROUNDS)
    booked = await _book_on_stripe(client, students, later_than(m.open_slots, 3)[:ROUNDS])
    events = []
    for body in booked:
        payment_id = body["payment"]["payment_id"]
        intent = await _intent(owner_db, payment_id)
        paid = event("payment_intent.succeeded", succeeded(intent, payment_id, PRICE))
        events.append(await _stored_event(client, owner_db, paid))

    for student, body, row_id in zip(students, booked, events, strict=True):
        # Both sides at once, each on its own pooled connection; a deadlock would raise here.
        canceled, applied = await asyncio.gather(
            _cancel(client, student, body["id"]), _apply(db, row_id)
        )
        assert (canceled, applied) == (200, True)
    await run_jobs()  # the refunds go to Stripe from billing's job

    states = await _end_states(owner_db, [b["id"] for b in booked])
    # Canceled first: the late success is refunded in full (hold_expired). Confirmed first: the
    # student's early cancellation refunds in full by policy. Same money either way.
    assert states == [("canceled", "refunded", PRICE, PRICE, 0, "refunded", PRICE, PRICE)] * ROUNDS
    reasons = await rows(owner_db, "SELECT reason FROM refunds")
    assert len(reasons) == ROUNDS
    assert set(Counter(r[0] for r in reasons)) <= {"hold_expired", "cancellation_policy"}
    assert len(stripe_api.posts("/v1/refunds")) == ROUNDS


async def test_a_cancellation_racing_a_provider_refund_never_deadlocks_or_refunds_twice(
    client: httpx.AsyncClient,
    owner_db: Database,
    db: Database,
    settings: Settings,
    market: MarketFactory,
    stripe_api: FakeApi,
) -> None:
    m = await market(price_cents=PRICE)
    await set_settings(client, m.tutor, full_refund_notice_hours=1, late_refund_percent=0)
    students = await many_students(owner_db, settings, ROUNDS)
    booked = await _book_on_stripe(client, students, later_than(m.open_slots, 3)[:ROUNDS])
    refund_events = []
    for body in booked:
        payment_id = body["payment"]["payment_id"]
        intent = await _intent(owner_db, payment_id)
        succeeded_event = event("payment_intent.succeeded", succeeded(intent, payment_id, PRICE))
        paid = await _stored_event(client, owner_db, succeeded_event)
        assert await _apply(db, paid)
        # Refunded in full at Stripe's dashboard while the student cancels.
        refund_events.append(
            await _stored_event(client, owner_db, event("charge.refunded", refunded(intent, PRICE)))
        )
    confirmed = await rows(owner_db, "SELECT count(*) FROM bookings WHERE status = 'confirmed'")
    assert confirmed == [(ROUNDS,)]

    for student, body, row_id in zip(students, booked, refund_events, strict=True):
        canceled, applied = await asyncio.gather(
            _cancel(client, student, body["id"]), _apply(db, row_id)
        )
        assert (canceled, applied) == (200, True)
    await run_jobs()

    states = await _end_states(owner_db, [b["id"] for b in booked])
    assert states == [("canceled", "refunded", PRICE, PRICE, 0, "refunded", PRICE, PRICE)] * ROUNDS
    # Whichever came first, the money went back once: either our cancellation refund matched by
    # the provider's total, or the provider's own refund and nothing left owed.
    assert await rows(
        owner_db, "SELECT count(*), sum(amount_cents) FROM refunds WHERE status = 'succeeded'"
    ) == [(ROUNDS, ROUNDS * PRICE)]
