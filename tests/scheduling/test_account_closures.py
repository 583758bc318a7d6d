"""A closed account winds down: a suspended or deleted tutor's future bookings are canceled and
paid back in full (credits and the manual provider), a deleted student's are canceled under the
cancellation policy and their subscription ends; the parties still here are told."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from studyhall.accounts.service.closures import wind_down_closed_account
from studyhall.billing.service import subscriptions
from studyhall.db.engine import Database
from tests.conftest import run_jobs
from tests.scheduling.conftest import (
    API,
    PASSWORD,
    SEATS_MISMATCH_SQL,
    MarketFactory,
    Person,
    book,
    execute,
    make_admin,
    rows,
    scalar,
    set_settings,
    sign_up,
    use_billing,
)
from tests.scheduling.test_bookings import MORNING
from tests.scheduling.test_payment_wiring import PRICE, grant

IN_TWO_DAYS = {**MORNING, "start_date": (date.today() + timedelta(days=2)).isoformat()}
CLOSURE_JOBS = (
    "SELECT count(*) FROM procrastinate_jobs "
    "WHERE task_name = 'studyhall.accounts.wind_down_closed_account'"
)
BOOKINGS = (
    "SELECT student_id, status, canceled_by, cancellation_reason, payment_status, "
    "amount_refunded_cents FROM bookings WHERE id = :id"
)
TOLD = (
    "SELECT user_id, count(*) FROM notifications WHERE type = 'booking_cancellation' "
    "GROUP BY user_id ORDER BY user_id"
)
# What a wind-down leaves behind; a second run must not change any of it.
TRACES = (
    "SELECT (SELECT count(*) FROM refunds), (SELECT count(*) FROM credit_ledger), "
    "(SELECT count(*) FROM notifications), (SELECT count(*) FROM audit_log)"
)


async def delete_me(client: httpx.AsyncClient, person: Person) -> None:
    response = await client.request(
        "DELETE", f"{API}/me", json={"password": PASSWORD}, headers=person.headers
    )
    assert response.status_code == 204, response.text


async def credits_of(owner_db: Database, person: Person) -> Any:
    return await scalar(
        owner_db, "SELECT credit_balance FROM student_profiles WHERE user_id = :u", u=person.id
    )


async def test_suspending_a_tutor_cancels_and_refunds_their_future_bookings(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory
) -> None:
    use_billing(manual_auto_succeed=True)
    m = await market(rule=MORNING, price_cents=PRICE)
    elsewhere = await market(rule=IN_TWO_DAYS)
    admin = await make_admin(client, owner_db)
    by_credits, by_provider, holding = [await sign_up(client) for _ in range(3)]
    await grant(owner_db, by_credits, 25)
    slot = [s["id"] for s in m.open_slots]
    credit = (await book(client, by_credits, slot[0], pay_with="credits")).json()
    paid = (await book(client, by_provider, slot[1], provider="manual")).json()
    use_billing(manual_auto_succeed=False)
    hold = (await book(client, holding, slot[2])).json()
    kept = (await book(client, by_credits, elsewhere.open_slots[0]["id"])).json()
    assert [b["status"] for b in (credit, paid, hold, kept)] == [
        "confirmed",
        "confirmed",
        "pending_payment",
        "confirmed",
    ]
    assert await credits_of(owner_db, by_credits) == 0

    suspended = await client.post(
        f"{API}/admin/users/{m.tutor.id}/suspend", json={"reason": "fraud"}, headers=admin.headers
    )
    assert suspended.status_code == 200, suspended.text
    assert await scalar(owner_db, CLOSURE_JOBS) == 1
    await run_jobs()

    assert await rows(owner_db, BOOKINGS, id=credit["id"]) == [
        (by_credits.id, "canceled", "system", "tutor_suspended", "refunded", PRICE)
    ]
    assert await rows(owner_db, BOOKINGS, id=paid["id"]) == [
        (by_provider.id, "canceled", "system", "tutor_suspended", "refunded", PRICE)
    ]
    assert await rows(owner_db, BOOKINGS, id=hold["id"]) == [
        (holding.id, "canceled", "system", "tutor_suspended", "canceled", 0)
    ]
    assert (await rows(owner_db, BOOKINGS, id=kept["id"]))[0][1] == "confirmed"
    assert await credits_of(owner_db, by_credits) == 25
    assert await rows(
        owner_db,
        "SELECT status, amount_refunded_cents FROM payments WHERE purpose_id = :id",
        id=paid["id"],
    ) == [("refunded", PRICE)]
    assert (
        await scalar(
            owner_db, "SELECT sum(seats_taken) FROM slots WHERE tutor_id = :t", t=m.tutor.id
        )
        == 0
    )
    assert await scalar(owner_db, SEATS_MISMATCH_SQL) == 0
    # The students whose sessions were confirmed are told (email and in-app); a suspended
    # account gets nothing, and an unpaid hold just lapses.
    assert await rows(owner_db, TOLD) == sorted([(by_credits.id, 2), (by_provider.id, 2)])

    before = await rows(owner_db, TRACES)
    await wind_down_closed_account(str(m.tutor.id), "suspended")
    assert await rows(owner_db, TRACES) == before


async def test_a_tutor_restored_before_the_wind_down_keeps_their_bookings(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory
) -> None:
    m = await market(rule=MORNING)
    admin = await make_admin(client, owner_db)
    student = await sign_up(client)
    booking = (await book(client, student, m.open_slots[0]["id"])).json()
    for action, body in (("suspend", {"reason": "mistake"}), ("restore", None)):
        response = await client.post(
            f"{API}/admin/users/{m.tutor.id}/{action}", json=body, headers=admin.headers
        )
        assert response.status_code == 200, response.text
    await run_jobs()
    assert (await rows(owner_db, BOOKINGS, id=booking["id"]))[0][1] == "confirmed"


async def test_a_tutor_deleting_their_account_cancels_and_refunds_their_bookings(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory
) -> None:
    m = await market(rule=MORNING, price_cents=PRICE)
    student = await sign_up(client)
    await grant(owner_db, student, 25)
    booking = (await book(client, student, m.open_slots[0]["id"], pay_with="credits")).json()
    await delete_me(client, m.tutor)
    await run_jobs()
    assert await rows(owner_db, BOOKINGS, id=booking["id"]) == [
        (student.id, "canceled", "system", "tutor_deleted", "refunded", PRICE)
    ]
    assert await credits_of(owner_db, student) == 25
    assert await rows(owner_db, TOLD) == [(student.id, 2)]


PLAN = {
    "key": "pro",
    "name": "Pro",
    "billing_cycle": "monthly",
    "price_cents": 1200,
    "currency": "USD",
    "credits_per_period": 30,
    "ai_daily_token_quota": 50_000,
    "ai_monthly_token_quota": None,
}


async def test_deleting_a_student_ends_their_subscription_and_cancels_bookings_by_policy(
    client: httpx.AsyncClient, owner_db: Database, db: Database, market: MarketFactory
) -> None:
    use_billing(manual_auto_succeed=True)
    m = await market(rule=MORNING, price_cents=PRICE)
    # Every cancellation by the student is late: half of what was paid comes back.
    await set_settings(client, m.tutor, full_refund_notice_hours=1440, late_refund_percent=50)
    admin = await make_admin(client, owner_db)
    plan = await client.post(f"{API}/billing/admin/plans", json=PLAN, headers=admin.headers)
    assert plan.status_code == 201, plan.text
    student = await sign_up(client)
    subscribed = await client.post(
        f"{API}/billing/subscriptions",
        json={"plan_id": plan.json()["id"]},
        headers={**student.headers, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert subscribed.status_code == 201, subscribed.text
    assert subscribed.json()["subscription"]["status"] == "active"
    credit = (await book(client, student, m.open_slots[0]["id"], pay_with="credits")).json()
    paid = (await book(client, student, m.open_slots[1]["id"], provider="manual")).json()
    assert (credit["status"], paid["status"]) == ("confirmed", "confirmed")

    await delete_me(client, student)
    await run_jobs()

    assert await rows(owner_db, BOOKINGS, id=credit["id"]) == [
        (student.id, "canceled", "student", "student_deleted", "captured", PRICE // 2)
    ]
    assert await rows(owner_db, BOOKINGS, id=paid["id"]) == [
        (student.id, "canceled", "student", "student_deleted", "captured", PRICE // 2)
    ]
    assert await rows(
        owner_db,
        "SELECT status, amount_refunded_cents FROM payments WHERE purpose_id = :id",
        id=paid["id"],
    ) == [("succeeded", PRICE // 2)]
    assert (
        await scalar(
            owner_db,
            "SELECT delta FROM credit_ledger WHERE user_id = :u AND reason = 'refund'",
            u=student.id,
        )
        == 12
    )
    assert await rows(owner_db, TOLD) == [(m.tutor.id, 4)]
    assert await rows(
        owner_db, "SELECT status FROM subscriptions WHERE user_id = :u", u=student.id
    ) == [("canceled",)]
    # The period ends and nothing renews: no new payment is ever asked of the account.
    payments = await scalar(owner_db, "SELECT count(*) FROM payments")
    await execute(
        owner_db,
        "UPDATE subscriptions SET current_period_start = now() - interval '1 month', "
        "current_period_end = now() - interval '1 minute' WHERE user_id = :u",
        u=student.id,
    )
    assert (await subscriptions.run_renewals(db, datetime.now(UTC)))["renewed"] == 0
    await run_jobs()
    assert await scalar(owner_db, "SELECT count(*) FROM payments") == payments


async def test_a_suspended_student_keeps_their_bookings(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory
) -> None:
    m = await market(rule=MORNING)
    admin = await make_admin(client, owner_db)
    student = await sign_up(client)
    booking = (await book(client, student, m.open_slots[0]["id"])).json()
    response = await client.post(
        f"{API}/admin/users/{student.id}/suspend", json={"reason": "spam"}, headers=admin.headers
    )
    assert response.status_code == 200, response.text
    await run_jobs()
    assert (await rows(owner_db, BOOKINGS, id=booking["id"]))[0][1] == "confirmed"
