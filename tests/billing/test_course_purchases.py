"""Course purchases paid through billing, end to end over HTTP: checkout starts the payment, its
success grants access, its failure leaves the purchase unpaid, a refund gives the money back and
revokes exactly that purchase's access."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from studyhall.db.engine import Database
from tests.billing.conftest import Caller, make_admin, scalar, sign_up, use_billing
from tests.billing.fakes import FakeApi
from tests.billing.test_stripe import deliver, event, succeeded
from tests.conftest import run_jobs
from tests.courses.helpers import Actor, course_tree, product

API = "/api/v1"
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


def _actor(caller: Caller) -> Actor:
    return Actor(caller.id, caller.headers)


async def _shop(
    client: httpx.AsyncClient, owner_db: Database, products: int = 1, price_cents: int = 4900
) -> tuple[Caller, Caller, dict[str, Any], list[dict[str, Any]]]:
    """An admin, a student, one course of two lessons and ``products`` products selling it."""
    admin = await make_admin(client, owner_db)
    student = await sign_up(client)
    tree = await course_tree(client, _actor(admin))
    sold = [
        await product(client, _actor(admin), [tree["course_id"]], price_cents=price_cents)
        for _ in range(products)
    ]
    return admin, student, tree, sold


async def _checkout(
    client: httpx.AsyncClient, student: Caller, product_id: str, code: int = 201
) -> dict[str, Any]:
    response = await client.post(
        f"{API}/products/{product_id}/checkout", headers=student.with_key()
    )
    assert response.status_code == code, response.text
    body: dict[str, Any] = response.json()
    return body


async def _lesson(client: httpx.AsyncClient, tree: dict[str, Any], who: Caller) -> int:
    url = f"{API}/lessons/{tree['lessons'][0]}"
    return (await client.get(url, headers=who.headers)).status_code


async def _state(db: Database, purchase_id: str) -> str:
    """purchase status / its payment's status and refunded cents / live access rows."""
    return str(
        await scalar(
            db,
            "SELECT pu.status || '/' || coalesce(pa.status, '-') || ':' "
            "|| coalesce(pa.amount_refunded_cents, 0) || '/' || "
            "(SELECT count(*) FROM course_access a "
            " WHERE a.purchase_id = pu.id AND a.revoked_at IS NULL) "
            "FROM purchases pu LEFT JOIN payments pa ON pa.id = pu.payment_id WHERE pu.id = :id",
            id=uuid.UUID(purchase_id),
        )
    )


async def test_manual_checkout_pays_at_once_and_a_retried_key_replays(
    client: httpx.AsyncClient, owner_db: Database, db: Database
) -> None:
    _admin, student, tree, (sold,) = await _shop(client, owner_db)
    assert await _lesson(client, tree, student) == 403
    key = str(uuid.uuid4())
    url = f"{API}/products/{sold['id']}/checkout"
    response = await client.post(url, headers=student.with_key(key))
    assert response.status_code == 201, response.text
    body = response.json()
    purchase, started = body["purchase"], body["payment"]
    assert (purchase["status"], body["payment_required"]) == ("paid", False)
    payment = started["payment"]
    assert (payment["purpose"], payment["purpose_id"], payment["type"]) == (
        "course_purchase",
        purchase["id"],
        "product",
    )
    assert (payment["amount_cents"], payment["currency"], payment["status"]) == (
        4900,
        "USD",
        "succeeded",
    )
    assert (started["client_secret"], started["checkout_url"], started["payment_key"]) == (
        None,
        None,
        None,
    )
    assert await scalar(db, "SELECT payment_id::text FROM purchases") == payment["id"]
    assert await _state(db, purchase["id"]) == "paid/succeeded:0/1"
    assert await _lesson(client, tree, student) == 200

    replay = await client.post(url, headers=student.with_key(key))
    assert (replay.status_code, replay.headers["Idempotent-Replayed"]) == (201, "true")
    assert replay.json() == body
    reused = await client.post(url, json={"provider": "stripe"}, headers=student.with_key(key))
    assert (reused.status_code, reused.json()["code"]) == (409, "idempotency_key_reused")
    owned = await client.post(url, headers=student.with_key())
    assert (owned.status_code, owned.json()["code"]) == (409, "product_already_purchased")
    unknown = await client.post(url, json={"provider": "cash"}, headers=student.with_key())
    assert unknown.status_code == 422
    assert await scalar(db, "SELECT count(*) FROM payments") == 1
    assert await scalar(db, "SELECT count(*) FROM purchases") == 1


async def test_failed_payment_leaves_purchase_unpaid_and_a_second_success_is_refunded(
    client: httpx.AsyncClient, owner_db: Database, db: Database
) -> None:
    use_billing(manual_auto_succeed=False)
    admin, student, tree, (sold,) = await _shop(client, owner_db)
    first = await _checkout(client, student, sold["id"])
    purchase_id = first["purchase"]["id"]
    assert (first["purchase"]["status"], first["payment_required"]) == ("pending", True)
    assert first["payment"]["payment"]["status"] == "pending"

    failed = await client.post(
        f"{API}/billing/admin/payments/{first['payment']['payment']['id']}/mark-failed",
        json={"note": "card declined"},
        headers=admin.headers,
    )
    assert (failed.status_code, failed.json()["status"]) == (200, "failed")
    assert await _state(db, purchase_id) == "pending/-:0/0"
    assert await _lesson(client, tree, student) == 403

    retry = await _checkout(client, student, sold["id"], code=200)
    assert retry["purchase"]["id"] == purchase_id
    second_id = retry["payment"]["payment"]["id"]
    paid = await client.post(
        f"{API}/billing/admin/payments/{second_id}/mark-paid", json={}, headers=admin.headers
    )
    assert (paid.status_code, paid.json()["status"]) == (200, "succeeded")
    assert await scalar(db, "SELECT payment_id::text FROM purchases") == second_id
    assert await _state(db, purchase_id) == "paid/succeeded:0/1"
    assert await _lesson(client, tree, student) == 200

    # The declined attempt goes through after all: the buyer is not charged twice.
    late = await client.post(
        f"{API}/billing/admin/payments/{first['payment']['payment']['id']}/mark-paid",
        json={},
        headers=admin.headers,
    )
    assert late.status_code == 200
    assert (
        await scalar(
            db,
            "SELECT status || ':' || amount_refunded_cents FROM payments WHERE id = :id",
            id=uuid.UUID(first["payment"]["payment"]["id"]),
        )
        == "refunded:4900"
    )
    assert await scalar(db, "SELECT string_agg(reason || ':' || status, ',') FROM refunds") == (
        "duplicate:succeeded"
    )
    assert await scalar(db, "SELECT payment_id::text FROM purchases") == second_id
    assert await _state(db, purchase_id) == "paid/succeeded:0/1"
    assert await _lesson(client, tree, student) == 200


async def test_refunding_one_of_two_purchases_of_a_course_keeps_access(
    client: httpx.AsyncClient, owner_db: Database, db: Database
) -> None:
    admin, student, tree, (one, two) = await _shop(client, owner_db, products=2)
    p1 = (await _checkout(client, student, one["id"]))["purchase"]["id"]
    second = await _checkout(client, student, two["id"])
    p2, payment2 = second["purchase"]["id"], second["payment"]["payment"]["id"]

    refunded = await client.post(f"{API}/purchases/{p1}/refund", headers=student.headers)
    assert (refunded.status_code, refunded.json()["status"]) == (200, "refunded")
    assert await _state(db, p1) == "refunded/refunded:4900/0"
    assert await _state(db, p2) == "paid/succeeded:0/1"
    assert await _lesson(client, tree, student) == 200

    # The admin's refund of the other payment, through billing, revokes the last access.
    response = await client.post(
        f"{API}/billing/admin/payments/{payment2}/refunds", json={}, headers=admin.with_key()
    )
    assert (response.status_code, response.json()["status"]) == (201, "succeeded")
    assert await _state(db, p2) == "refunded/refunded:4900/0"
    assert await _lesson(client, tree, student) == 403
    assert await scalar(db, "SELECT string_agg(reason, ',' ORDER BY reason) FROM refunds") == (
        "admin,course_refund"
    )
    again = await client.post(f"{API}/purchases/{p1}/refund", headers=student.headers)
    assert (again.status_code, again.json()["status"]) == (200, "refunded")
    assert await scalar(db, "SELECT count(*) FROM refunds") == 2


async def test_a_partial_refund_keeps_access_and_the_rest_revokes_it(
    client: httpx.AsyncClient, owner_db: Database, db: Database
) -> None:
    admin, student, tree, (sold,) = await _shop(client, owner_db)
    body = await _checkout(client, student, sold["id"])
    purchase_id, payment_id = body["purchase"]["id"], body["payment"]["payment"]["id"]
    url = f"{API}/billing/admin/payments/{payment_id}/refunds"
    part = await client.post(url, json={"amount_cents": 900}, headers=admin.with_key())
    assert part.status_code == 201, part.text
    assert await _state(db, purchase_id) == "paid/succeeded:900/1"
    assert await _lesson(client, tree, student) == 200
    rest = await client.post(f"{API}/purchases/{purchase_id}/refund", headers=student.headers)
    assert (rest.status_code, rest.json()["status"]) == (200, "refunded")
    assert await _state(db, purchase_id) == "refunded/refunded:4900/0"
    assert await scalar(db, "SELECT sum(amount_cents) FROM refunds") == 4900


async def test_refunds_outside_the_window_or_by_others_are_refused_and_change_nothing(
    client: httpx.AsyncClient, owner_db: Database, db: Database
) -> None:
    admin, student, tree, (sold,) = await _shop(client, owner_db)
    stranger = await sign_up(client)
    body = await _checkout(client, student, sold["id"])
    purchase_id, payment_id = body["purchase"]["id"], body["payment"]["payment"]["id"]
    buyer_url = f"{API}/purchases/{purchase_id}/refund"

    not_theirs = await client.post(buyer_url, headers=stranger.headers)
    assert (not_theirs.status_code, not_theirs.json()["code"]) == (404, "purchase_not_found")
    await scalar(
        owner_db,
        "UPDATE purchases SET paid_at = now() - interval '15 days' WHERE id = :id RETURNING 1",
        id=uuid.UUID(purchase_id),
    )
    late = await client.post(buyer_url, headers=student.headers)
    assert (late.status_code, late.json()["code"]) == (409, "refund_window_closed")
    admin_late = await client.post(
        f"{API}/billing/admin/payments/{payment_id}/refunds", json={}, headers=admin.with_key()
    )
    assert (admin_late.status_code, admin_late.json()["code"]) == (409, "refund_window_closed")

    assert await _state(db, purchase_id) == "paid/succeeded:0/1"
    assert await scalar(db, "SELECT count(*) FROM refunds") == 0
    assert (
        await scalar(
            db,
            "SELECT count(*) FROM audit_log "
            "WHERE action IN ('purchase.refund', 'refund.request', 'refund.succeed')",
        )
        == 0
    )
    assert await _lesson(client, tree, student) == 200


async def test_a_stripe_purchase_is_paid_and_refunded_by_signed_webhooks_and_jobs(
    client: httpx.AsyncClient, owner_db: Database, db: Database, fake_stripe: FakeApi
) -> None:
    _admin, student, tree, (sold,) = await _shop(client, owner_db, price_cents=2500)
    body = await _checkout(client, student, sold["id"])
    purchase_id, payment = body["purchase"]["id"], body["payment"]["payment"]
    intent = payment["provider_payment_id"]
    assert (body["purchase"]["status"], payment["provider"], payment["status"]) == (
        "pending",
        "stripe",
        "pending",
    )
    assert body["payment"]["client_secret"] == f"{intent}_secret_test"
    assert fake_stripe.posts("/v1/payment_intents")[0].params["amount"] == "2500"
    assert await _lesson(client, tree, student) == 403

    for _ in range(2):  # a redelivered event has no second effect
        paid = succeeded(intent, payment["id"], 2500)
        ack = await deliver(client, event("payment_intent.succeeded", paid, "evt_ok"))
        assert ack.status_code == 200
        await run_jobs()
    assert await _state(db, purchase_id) == "paid/succeeded:0/1"
    assert (
        await scalar(db, "SELECT provider || ':' || provider_session_id FROM purchases")
        == f"stripe:{intent}"
    )
    assert await _lesson(client, tree, student) == 200

    asked = await client.post(f"{API}/purchases/{purchase_id}/refund", headers=student.headers)
    # Stripe refunds are executed by a job: until Stripe confirms, the purchase stays paid.
    assert (asked.status_code, asked.json()["status"]) == (200, "paid")
    twice = await client.post(f"{API}/purchases/{purchase_id}/refund", headers=student.headers)
    assert (twice.status_code, twice.json()["code"]) == (409, "refund_in_progress")
    assert await _lesson(client, tree, student) == 200
    await run_jobs()
    calls = fake_stripe.posts("/v1/refunds")
    assert [(c.params["payment_intent"], c.params["amount"]) for c in calls] == [(intent, "2500")]
    assert await _state(db, purchase_id) == "refunded/refunded:2500/0"
    assert await _lesson(client, tree, student) == 403
