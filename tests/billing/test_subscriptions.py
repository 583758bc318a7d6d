"""Plans and subscriptions: periods, credits once per period, renewals, grace, cancellation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from dateutil.relativedelta import relativedelta
from sqlalchemy import text

from studyhall.billing.models import Plan, Subscription
from studyhall.billing.service import plan_credits, subscriptions
from studyhall.db.engine import Database
from tests.billing.conftest import (
    Caller,
    ledger_consistent,
    make_admin,
    scalar,
    sign_up,
    use_billing,
)
from tests.conftest import run_jobs

PRO = {
    "key": "pro",
    "name": "Pro",
    "billing_cycle": "monthly",
    "price_cents": 1200,
    "currency": "USD",
    "credits_per_period": 30,
    "ai_daily_token_quota": 50_000,
    "ai_monthly_token_quota": None,
}


async def _plan(client: httpx.AsyncClient, admin: Caller, **changes: Any) -> str:
    response = await client.post(
        "/api/v1/billing/admin/plans", json={**PRO, **changes}, headers=admin.headers
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _subscribe(client: httpx.AsyncClient, student: Caller, plan_id: str) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/billing/subscriptions", json={"plan_id": plan_id}, headers=student.with_key()
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _end_period_at(owner_db: Database, subscription_id: str, end: datetime) -> None:
    async with owner_db.transaction() as session:
        await session.execute(
            text(
                "UPDATE subscriptions SET current_period_start = :s, current_period_end = :e "
                "WHERE id = :id"
            ),
            {"s": end - relativedelta(months=1), "e": end, "id": uuid.UUID(subscription_id)},
        )
        # As if the subscription had begun a period ago: its first grant moves back with it
        # (the owner role may correct ledger rows; the API role may not).
        await session.execute(
            text(
                "UPDATE credit_ledger SET period_start = :d "
                "WHERE subscription_id = :id AND reason = 'subscription'"
            ),
            {"d": (end - relativedelta(months=1)).date(), "id": uuid.UUID(subscription_id)},
        )


async def _entitlements(client: httpx.AsyncClient, student: Caller) -> dict[str, Any]:
    body: dict[str, Any] = (
        await client.get("/api/v1/billing/entitlements", headers=student.headers)
    ).json()
    return body


async def test_plans_are_managed_by_admins(
    client: httpx.AsyncClient, owner_db: Database, db: Database
) -> None:
    student = await sign_up(client)
    denied = await client.post("/api/v1/billing/admin/plans", json=PRO, headers=student.headers)
    assert denied.status_code == 403
    admin = await make_admin(client, owner_db)
    plan_id = await _plan(client, admin)
    duplicate = await client.post("/api/v1/billing/admin/plans", json=PRO, headers=admin.headers)
    assert (duplicate.status_code, duplicate.json()["code"]) == (409, "plan_exists")
    bad = await client.post(
        "/api/v1/billing/admin/plans",
        json={**PRO, "billing_cycle": "weekly"},
        headers=admin.headers,
    )
    assert bad.status_code == 422
    listed = (await client.get("/api/v1/billing/plans")).json()["items"]
    assert [(p["id"], p["key"], p["credits_per_period"]) for p in listed] == [(plan_id, "pro", 30)]


async def test_subscribing_pays_the_first_period_and_grants_its_credits_once(
    client: httpx.AsyncClient, owner_db: Database, db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    plan_id = await _plan(client, admin)
    student = await sign_up(client)
    none_yet = await _entitlements(client, student)
    assert (none_yet["entitled"], none_yet["plan_key"], none_yet["credit_balance"]) == (
        False,
        None,
        0,
    )
    started = await _subscribe(client, student, plan_id)
    sub = started["subscription"]
    assert (sub["status"], sub["provider"], sub["price_cents"]) == ("active", "manual", 1200)
    start = datetime.fromisoformat(sub["current_period_start"])
    assert datetime.fromisoformat(sub["current_period_end"]) == start + relativedelta(months=1)
    assert started["payment"]["payment"]["purpose"] == "subscription"
    assert started["payment"]["payment"]["status"] == "succeeded"
    rights = await _entitlements(client, student)
    assert (rights["entitled"], rights["status"], rights["ai_daily_token_quota"]) == (
        True,
        "active",
        50_000,
    )
    assert rights["credit_balance"] == 30
    async with db.transaction(student.id) as session:
        subscription = await session.get(Subscription, uuid.UUID(sub["id"]))
        plan = await session.get(Plan, uuid.UUID(plan_id))
        assert subscription is not None and plan is not None
        granted = await plan_credits.grant_period_credits(session, subscription, plan, start)
    assert granted is False
    assert await ledger_consistent(db, student.id) == (30, 30)
    again = await client.post(
        "/api/v1/billing/subscriptions", json={"plan_id": plan_id}, headers=student.with_key()
    )
    assert (again.status_code, again.json()["code"]) == (409, "subscription_exists")
    stripe = await client.post(
        "/api/v1/billing/subscriptions",
        json={"plan_id": plan_id, "provider": "stripe"},
        headers=(await sign_up(client)).with_key(),
    )
    assert (stripe.status_code, stripe.json()["code"]) == (422, "plan_not_on_provider")
    assert await scalar(db, "SELECT count(*) FROM subscriptions") == 1


async def test_renewal_keeps_the_anchor_and_grants_each_period_once(
    client: httpx.AsyncClient, owner_db: Database, db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    plan_id = await _plan(client, admin)
    student = await sign_up(client)
    sub_id = (await _subscribe(client, student, plan_id))["subscription"]["id"]
    end = datetime(2026, 1, 31, 9, 0, tzinfo=UTC)
    await _end_period_at(owner_db, sub_id, end)
    now = end + timedelta(minutes=5)
    assert await subscriptions.run_renewals(db, now) == {
        "canceled": 0,
        "renewed": 1,
        "past_due": 0,
        "unpaid": 0,
    }
    assert await subscriptions.run_renewals(db, now) == {
        "canceled": 0,
        "renewed": 0,
        "past_due": 0,
        "unpaid": 0,
    }
    current = (
        await client.get("/api/v1/billing/subscriptions/current", headers=student.headers)
    ).json()
    assert datetime.fromisoformat(current["current_period_start"]) == end
    assert datetime.fromisoformat(current["current_period_end"]) == datetime(
        2026, 2, 28, 9, 0, tzinfo=UTC
    )
    periods = await scalar(
        db,
        "SELECT string_agg(period_start::text, ',' ORDER BY seq) FROM credit_ledger "
        "WHERE reason = 'subscription'",
    )
    assert periods == "2025-12-31,2026-01-31"
    assert await ledger_consistent(db, student.id) == (60, 60)
    assert await scalar(db, "SELECT count(*) FROM payments WHERE status = 'succeeded'") == 2


async def test_an_unpaid_renewal_is_past_due_then_lapses_after_the_grace_period(
    client: httpx.AsyncClient, owner_db: Database, db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    plan_id = await _plan(client, admin)
    student = await sign_up(client)
    sub_id = (await _subscribe(client, student, plan_id))["subscription"]["id"]
    use_billing(manual_auto_succeed=False, subscription_grace_days=3)
    end = datetime.now(UTC) - timedelta(hours=1)
    await _end_period_at(owner_db, sub_id, end)
    counts = await subscriptions.run_renewals(db, datetime.now(UTC))
    assert counts["past_due"] == 1
    rights = await _entitlements(client, student)
    assert (rights["status"], rights["entitled"]) == ("past_due", True)
    assert datetime.fromisoformat(rights["grace_until"]) == end + timedelta(days=3)
    assert await scalar(db, "SELECT count(*) FROM payments WHERE status = 'pending'") == 1

    in_grace = await subscriptions.run_renewals(db, end + timedelta(days=2))
    assert in_grace["unpaid"] == 0
    lapsed = await subscriptions.run_renewals(db, end + timedelta(days=3, seconds=1))
    assert lapsed["unpaid"] == 1
    rights = await _entitlements(client, student)
    assert (rights["status"], rights["entitled"], rights["ai_daily_token_quota"]) == (
        "unpaid",
        False,
        0,
    )
    busy = await client.post(
        "/api/v1/billing/subscriptions/current/pay", headers=student.with_key()
    )
    assert (busy.status_code, busy.json()["code"]) == (409, "payment_pending")
    pending_id = await scalar(db, "SELECT id FROM payments WHERE status = 'pending'")
    paid = await client.post(
        f"/api/v1/billing/admin/payments/{pending_id}/mark-paid", json={}, headers=admin.headers
    )
    assert paid.json()["status"] == "succeeded"
    current = (
        await client.get("/api/v1/billing/subscriptions/current", headers=student.headers)
    ).json()
    assert current["status"] == "active"
    assert datetime.fromisoformat(current["current_period_start"]) > end + timedelta(minutes=30)
    assert await ledger_consistent(db, student.id) == (60, 60)


async def test_a_trial_needs_no_payment_and_converts_at_its_end(
    client: httpx.AsyncClient, owner_db: Database, db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    plan_id = await _plan(client, admin, key="trial-pro", trial_days=7)
    student = await sign_up(client)
    started = await _subscribe(client, student, plan_id)
    sub = started["subscription"]
    assert (sub["status"], started["payment"]) == ("trial", None)
    trial_end = datetime.fromisoformat(sub["current_period_end"])
    assert trial_end - datetime.fromisoformat(sub["current_period_start"]) == timedelta(days=7)
    assert (await _entitlements(client, student))["entitled"] is True
    assert await ledger_consistent(db, student.id) == (0, 0)
    counts = await subscriptions.run_renewals(db, trial_end + timedelta(seconds=1))
    assert counts["renewed"] == 1
    current = (
        await client.get("/api/v1/billing/subscriptions/current", headers=student.headers)
    ).json()
    assert current["status"] == "active"
    assert datetime.fromisoformat(current["current_period_start"]) == trial_end
    assert await ledger_consistent(db, student.id) == (30, 30)


async def test_cancellation_at_period_end_and_at_once(
    client: httpx.AsyncClient, owner_db: Database, db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    plan_id = await _plan(client, admin)
    student = await sign_up(client)
    sub_id = (await _subscribe(client, student, plan_id))["subscription"]["id"]
    later = await client.post(
        "/api/v1/billing/subscriptions/current/cancel", json={}, headers=student.headers
    )
    assert (later.json()["status"], later.json()["cancel_at_period_end"]) == ("active", True)
    end = datetime.now(UTC) - timedelta(minutes=1)
    await _end_period_at(owner_db, sub_id, end)
    assert (await subscriptions.run_renewals(db, datetime.now(UTC)))["canceled"] == 1
    rights = await _entitlements(client, student)
    assert (rights["entitled"], rights["status"]) == (False, None)
    assert await scalar(db, "SELECT count(*) FROM payments") == 1

    other = await sign_up(client)
    await _subscribe(client, other, plan_id)
    now = await client.post(
        "/api/v1/billing/subscriptions/current/cancel",
        json={"at_period_end": False},
        headers=other.headers,
    )
    assert now.json()["status"] == "canceled"
    missing = await client.get("/api/v1/billing/subscriptions/current", headers=other.headers)
    assert (missing.status_code, missing.json()["code"]) == (404, "subscription_not_found")
    assert await ledger_consistent(db, other.id) == (30, 30)


async def test_each_period_end_has_its_renewal_job(
    client: httpx.AsyncClient, owner_db: Database, db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    plan_id = await _plan(client, admin)
    student = await sign_up(client)
    sub = (await _subscribe(client, student, plan_id))["subscription"]
    scheduled = await scalar(
        db,
        "SELECT scheduled_at FROM procrastinate_jobs "
        "WHERE task_name = 'studyhall.billing.renew_subscription'",
    )
    assert scheduled == datetime.fromisoformat(sub["current_period_end"])
    end = datetime.now(UTC) - timedelta(minutes=1)
    await _end_period_at(owner_db, sub["id"], end)
    async with owner_db.transaction() as session:
        await session.execute(text("UPDATE procrastinate_jobs SET scheduled_at = now()"))
    await run_jobs()
    current = (
        await client.get("/api/v1/billing/subscriptions/current", headers=student.headers)
    ).json()
    assert datetime.fromisoformat(current["current_period_start"]) == end
    assert await ledger_consistent(db, student.id) == (60, 60)
    assert (
        await scalar(
            db,
            "SELECT count(*) FROM procrastinate_jobs WHERE status = 'todo' "
            "AND task_name = 'studyhall.billing.renew_subscription'",
        )
        == 1
    )
