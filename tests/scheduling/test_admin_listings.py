"""What an admin finds through the API to act on: every user's payments (with the payer), every
tutor's payout statements (the due ones to mark paid), every review (the hidden ones to show
again), every plan (retired ones too) and renaming or retiring a plan."""

from __future__ import annotations

import uuid

import httpx

from studyhall.billing.config import BillingSettings
from studyhall.db.engine import Database
from tests.scheduling.conftest import (
    API,
    MarketFactory,
    billing_config,
    make_admin,
    market,
    rows,
    sign_up,
    use_billing,
)
from tests.scheduling.test_payouts import close, completed
from tests.scheduling.test_reviews import completed_booking

__all__ = ["billing_config", "market"]


async def test_admins_search_payments_and_list_due_statements(
    client: httpx.AsyncClient,
    owner_db: Database,
    market: MarketFactory,
    billing_config: BillingSettings,
) -> None:
    use_billing(manual_auto_succeed=True)
    m = await market(price_cents=5000)
    admin = await make_admin(client, owner_db)
    student = await sign_up(client, name="Salma Searchable")
    other = await sign_up(client, name="Other Payer")
    await completed(client, owner_db, m, student, 0)
    await completed(client, owner_db, m, other, 1)

    refused = await client.get(f"{API}/billing/admin/payments", headers=student.headers)
    assert refused.status_code == 403
    found = await client.get(
        f"{API}/billing/admin/payments",
        params={"q": "salma", "status": "succeeded"},
        headers=admin.headers,
    )
    assert found.status_code == 200, found.text
    [payment] = found.json()["items"]
    assert (payment["payer_name"], payment["user_id"], payment["amount_cents"]) == (
        "Salma Searchable",
        str(student.id),
        5000,
    )
    by_id = await client.get(
        f"{API}/billing/admin/payments", params={"q": payment["id"]}, headers=admin.headers
    )
    assert [p["id"] for p in by_id.json()["items"]] == [payment["id"]]
    paged = await client.get(
        f"{API}/billing/admin/payments", params={"limit": 1}, headers=admin.headers
    )
    assert len(paged.json()["items"]) == 1 and paged.json()["next_cursor"]
    wildcard = await client.get(
        f"{API}/billing/admin/payments", params={"q": "%"}, headers=admin.headers
    )
    assert wildcard.json()["items"] == []  # LIKE wildcards are searched for as typed

    [statement] = await close(client, admin)
    listed = await client.get(
        f"{API}/billing/admin/payouts/statements", params={"status": "due"}, headers=admin.headers
    )
    assert [(s["id"], s["tutor_email"] != "") for s in listed.json()["items"]] == [
        (statement["id"], True)
    ]
    paid = await client.post(
        f"{API}/billing/admin/payouts/statements/{statement['id']}/mark-paid",
        headers=admin.headers,
    )
    assert paid.status_code == 200
    due = await client.get(
        f"{API}/billing/admin/payouts/statements", params={"status": "due"}, headers=admin.headers
    )
    assert due.json()["items"] == []
    tutor_refused = await client.get(
        f"{API}/billing/admin/payouts/statements", headers=m.tutor.headers
    )
    assert tutor_refused.status_code == 403


async def test_admins_list_reviews_hidden_or_not(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory
) -> None:
    m = await market()
    admin = await make_admin(client, owner_db)
    student = await sign_up(client, name="Mona Reviewer")
    booking_id = await completed_booking(client, owner_db, m, student, 0)
    made = await client.post(
        f"{API}/bookings/{booking_id}/review",
        json={"rating": 2, "body": "Late"},
        headers=student.headers,
    )
    assert made.status_code == 201, made.text
    review_id = made.json()["id"]
    hidden = await client.post(
        f"{API}/reviews/{review_id}/hide", json={"reason": "rude"}, headers=admin.headers
    )
    assert hidden.status_code == 200
    listed = await client.get(
        f"{API}/admin/reviews", params={"hidden": "true"}, headers=admin.headers
    )
    [item] = listed.json()["items"]
    assert (item["id"], item["hidden_reason"], item["student_name"]) == (
        review_id,
        "rude",
        "Mona Reviewer",
    )
    visible = await client.get(
        f"{API}/admin/reviews", params={"hidden": "false"}, headers=admin.headers
    )
    assert review_id not in [r["id"] for r in visible.json()["items"]]
    refused = await client.get(f"{API}/admin/reviews", headers=student.headers)
    assert refused.status_code == 403


async def test_admins_rename_and_retire_a_plan(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    made = await client.post(
        f"{API}/billing/admin/plans",
        json={
            "key": "club",
            "name": "Club",
            "billing_cycle": "monthly",
            "price_cents": 900,
            "currency": "USD",
        },
        headers=admin.headers,
    )
    assert made.status_code == 201, made.text
    plan_id = made.json()["id"]
    renamed = await client.patch(
        f"{API}/billing/admin/plans/{plan_id}",
        json={"name": "Study club", "is_active": False},
        headers=admin.headers,
    )
    assert renamed.status_code == 200
    assert (renamed.json()["name"], renamed.json()["is_active"]) == ("Study club", False)
    public = await client.get(f"{API}/billing/plans")
    assert plan_id not in [p["id"] for p in public.json()["items"]]
    every = await client.get(f"{API}/billing/admin/plans", headers=admin.headers)
    assert plan_id in [p["id"] for p in every.json()["items"]]
    missing = await client.patch(
        f"{API}/billing/admin/plans/{uuid.uuid4()}", json={"name": "x"}, headers=admin.headers
    )
    assert missing.status_code == 404
    price = await client.patch(
        f"{API}/billing/admin/plans/{plan_id}", json={"price_cents": 1}, headers=admin.headers
    )
    assert price.status_code == 422  # a price never changes
    [(diff,)] = await rows(
        owner_db,
        "SELECT diff FROM audit_log WHERE action = 'plan.update' AND entity_id = :id",
        id=plan_id,
    )
    assert diff == {"name": ["Club", "Study club"], "is_active": [True, False]}
