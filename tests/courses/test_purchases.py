"""Checkout, the billing hooks (complete/refund), admin grants and purchase history."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import httpx
from sqlalchemy import text

from studyhall.courses import service as courses
from studyhall.db.engine import Database
from studyhall.db.rls import cross_users
from tests.courses.helpers import Actor, count, course_tree, make_admin, post, product, sign_up

API = "/api/v1"


async def _paid(db: Database, purchase_id: str, session_id: str) -> None:
    async with db.transaction() as session:
        # As billing's settlement does: the unit of work acts for no signed-in user.
        await cross_users(session)
        await courses.complete_purchase(session, uuid.UUID(purchase_id), session_id)


async def _access(client: httpx.AsyncClient, lesson_id: str, actor: Actor) -> int:
    return (await client.get(f"{API}/lessons/{lesson_id}", headers=actor.headers)).status_code


async def test_free_product_grants_at_once(client: httpx.AsyncClient, owner_db: Database) -> None:
    admin = await make_admin(client, owner_db)
    student = await sign_up(client)
    tree = await course_tree(client, admin)
    free = await product(client, admin, [tree["course_id"]], price_cents=0)
    body = await post(client, f"{API}/products/{free['id']}/checkout", student, None)
    assert body["payment_required"] is False
    assert body["purchase"]["status"] == "paid"
    assert body["purchase"]["price_paid_cents"] == 0
    assert body["purchase"]["provider"] == "free"
    assert body["purchase"]["product_details"] == {
        "name": "Algebra bundle",
        "description": "Everything algebra.",
        "image_url": "https://img.example.com/algebra.png",
    }
    assert await _access(client, tree["lessons"][0], student) == 200
    again = await client.post(f"{API}/products/{free['id']}/checkout", headers=student.headers)
    assert again.status_code == 409
    assert again.json()["code"] == "product_already_purchased"
    assert await count(owner_db, "SELECT count(*) FROM purchases") == 1
    assert await count(owner_db, "SELECT count(*) FROM course_access") == 1


async def test_paid_checkout_is_pending_then_complete_grants_idempotently(
    client: httpx.AsyncClient, owner_db: Database, db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    student = await sign_up(client)
    first = await course_tree(client, admin)
    second = await course_tree(client, admin)
    bundle = await product(client, admin, [first["course_id"], second["course_id"]])
    body = await post(client, f"{API}/products/{bundle['id']}/checkout", student, None)
    assert body["payment_required"] is True
    assert body["purchase"]["status"] == "pending"
    assert body["purchase"]["price_paid_cents"] == 4900
    assert await _access(client, first["lessons"][0], student) == 403
    assert (await client.get(f"{API}/me/purchases", headers=student.headers)).json() == {
        "items": [],
        "next_cursor": None,
    }

    await _paid(db, body["purchase"]["id"], "cs_test_1")
    await _paid(db, body["purchase"]["id"], "cs_test_1")
    assert await count(owner_db, "SELECT count(*) FROM course_access WHERE source='purchase'") == 2
    assert await _access(client, first["lessons"][0], student) == 200
    assert await _access(client, second["lessons"][1], student) == 200
    history = (await client.get(f"{API}/me/purchases", headers=student.headers)).json()["items"]
    assert [p["id"] for p in history] == [body["purchase"]["id"]]
    assert history[0]["provider_session_id"] == "cs_test_1"
    assert (
        await count(owner_db, "SELECT count(*) FROM audit_log WHERE action='purchase.complete'")
        == 1
    )


async def test_concurrent_checkouts_make_one_purchase(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    student = await sign_up(client)
    tree = await course_tree(client, admin)
    paid = await product(client, admin, [tree["course_id"]])
    responses = await asyncio.gather(
        *[
            client.post(f"{API}/products/{paid['id']}/checkout", headers=student.headers)
            for _ in range(20)
        ]
    )
    assert sorted(r.status_code for r in responses) == [200] * 19 + [201]
    assert len({r.json()["purchase"]["id"] for r in responses}) == 1
    assert await count(owner_db, "SELECT count(*) FROM purchases") == 1


async def test_refunding_one_of_two_purchases_keeps_access(
    client: httpx.AsyncClient, owner_db: Database, db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    student = await sign_up(client)
    tree = await course_tree(client, admin)
    one = await product(client, admin, [tree["course_id"]])
    two = await product(client, admin, [tree["course_id"]], price_cents=9900)
    p1 = (await post(client, f"{API}/products/{one['id']}/checkout", student, None))["purchase"]
    p2 = (await post(client, f"{API}/products/{two['id']}/checkout", student, None))["purchase"]
    await _paid(db, p1["id"], "cs_a")
    await _paid(db, p2["id"], "cs_b")

    refunded = await post(client, f"{API}/purchases/{p1['id']}/refund", student, None, 200)
    assert refunded["status"] == "refunded"
    assert await _access(client, tree["lessons"][0], student) == 200
    live = "SELECT count(*) FROM course_access WHERE revoked_at IS NULL"
    assert await count(owner_db, live) == 1
    assert await count(owner_db, f"{live} AND purchase_id = :p", p=p2["id"]) == 1
    history = (await client.get(f"{API}/me/purchases", headers=student.headers)).json()["items"]
    assert [p["id"] for p in history] == [p2["id"]]

    await post(client, f"{API}/purchases/{p2['id']}/refund", student, None, 200)
    assert await _access(client, tree["lessons"][0], student) == 403
    assert await count(owner_db, live) == 0


async def test_refund_keeps_admin_grant_and_revoking_grant_keeps_purchase(
    client: httpx.AsyncClient, owner_db: Database, db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    student = await sign_up(client)
    tree = await course_tree(client, admin)
    paid = await product(client, admin, [tree["course_id"]])
    purchase = (await post(client, f"{API}/products/{paid['id']}/checkout", student, None))[
        "purchase"
    ]
    await _paid(db, purchase["id"], "cs_g")
    grant = await post(
        client, f"{API}/courses/{tree['course_id']}/grants", admin, {"user_id": str(student.id)}
    )
    assert grant["source"] == "grant"
    assert grant["granted_by_user_id"] == str(admin.id)
    again = await client.post(
        f"{API}/courses/{tree['course_id']}/grants",
        json={"user_id": str(student.id)},
        headers=admin.headers,
    )
    assert again.status_code == 200
    assert again.json()["id"] == grant["id"]

    revoke = await client.delete(
        f"{API}/courses/{tree['course_id']}/grants/{student.id}", headers=admin.headers
    )
    assert revoke.status_code == 204
    assert await _access(client, tree["lessons"][0], student) == 200
    await post(
        client, f"{API}/courses/{tree['course_id']}/grants", admin, {"user_id": str(student.id)}
    )
    await post(client, f"{API}/purchases/{purchase['id']}/refund", student, None, 200)
    assert await _access(client, tree["lessons"][0], student) == 200
    assert (
        await count(
            owner_db,
            "SELECT count(*) FROM course_access WHERE revoked_at IS NULL AND source = 'grant'",
        )
        == 1
    )


async def test_refund_rules_refuse_and_change_nothing(
    client: httpx.AsyncClient, owner_db: Database, db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    student = await sign_up(client)
    stranger = await sign_up(client)
    tree = await course_tree(client, admin, lessons=2)
    paid = await product(client, admin, [tree["course_id"]])
    purchase = (await post(client, f"{API}/products/{paid['id']}/checkout", student, None))[
        "purchase"
    ]
    url = f"{API}/purchases/{purchase['id']}/refund"

    unpaid = await client.post(url, headers=student.headers)
    assert (unpaid.status_code, unpaid.json()["code"]) == (409, "purchase_not_paid")
    await _paid(db, purchase["id"], "cs_r")
    not_theirs = await client.post(url, headers=stranger.headers)
    assert (not_theirs.status_code, not_theirs.json()["code"]) == (404, "purchase_not_found")

    for lesson in tree["lessons"]:
        done = await client.put(f"{API}/lessons/{lesson}/completion", headers=student.headers)
        assert done.status_code == 200
    completed = await client.post(url, headers=student.headers)
    assert (completed.status_code, completed.json()["code"]) == (409, "refund_course_completed")

    await client.delete(f"{API}/lessons/{tree['lessons'][0]}/completion", headers=student.headers)
    async with owner_db.transaction() as session:
        await session.execute(
            text("UPDATE purchases SET paid_at = now() - interval '15 days' WHERE id = :id"),
            {"id": purchase["id"]},
        )
    late = await client.post(url, headers=student.headers)
    assert (late.status_code, late.json()["code"]) == (409, "refund_window_closed")

    assert await count(owner_db, "SELECT count(*) FROM purchases WHERE status = 'paid'") == 1
    assert await count(owner_db, "SELECT count(*) FROM course_access WHERE revoked_at IS NULL") == 1
    assert (
        await count(owner_db, "SELECT count(*) FROM audit_log WHERE action = 'purchase.refund'")
        == 0
    )

    async with db.transaction() as session:
        await cross_users(session)
        inside = await courses.refund_purchase(
            session, uuid.UUID(purchase["id"]), None, window=timedelta(days=30)
        )
        assert inside.status == "refunded"
    assert await count(owner_db, "SELECT count(*) FROM course_access WHERE revoked_at IS NULL") == 0


async def test_refunded_purchase_cannot_be_completed_and_product_can_be_bought_again(
    client: httpx.AsyncClient, owner_db: Database, db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    student = await sign_up(client)
    tree = await course_tree(client, admin)
    paid = await product(client, admin, [tree["course_id"]])
    purchase = (await post(client, f"{API}/products/{paid['id']}/checkout", student, None))[
        "purchase"
    ]
    await _paid(db, purchase["id"], "cs_x")
    await post(client, f"{API}/purchases/{purchase['id']}/refund", student, None, 200)
    again = await post(client, f"{API}/purchases/{purchase['id']}/refund", student, None, 200)
    assert again["status"] == "refunded"
    async with db.transaction() as session:
        await cross_users(session)
        try:
            await courses.complete_purchase(session, uuid.UUID(purchase["id"]), "cs_x")
        except Exception as exc:
            assert getattr(exc, "code", None) == "purchase_refunded"
        else:
            raise AssertionError("a refunded purchase was completed")
    second = await post(client, f"{API}/products/{paid['id']}/checkout", student, None)
    assert second["purchase"]["id"] != purchase["id"]
    assert await count(owner_db, "SELECT count(*) FROM purchases") == 2


async def test_students_cannot_grant_or_manage_products(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    student = await sign_up(client)
    tree = await course_tree(client, admin)
    grant = await client.post(
        f"{API}/courses/{tree['course_id']}/grants",
        json={"user_id": str(student.id)},
        headers=student.headers,
    )
    assert (grant.status_code, grant.json()["code"]) == (403, "role_required")
    create = await client.post(
        f"{API}/products",
        json={
            "name": "n",
            "description": "d",
            "image_url": "https://x.example/i.png",
            "price_cents": 1,
        },
        headers=student.headers,
    )
    assert create.status_code == 403
    assert await count(owner_db, "SELECT count(*) FROM course_access") == 0
    assert await count(owner_db, "SELECT count(*) FROM products") == 0


async def test_repeated_grants_and_checkouts_survive_prepared_statements(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    # Regression: after psycopg prepares a statement (5th run), ON CONFLICT with a bound
    # parameter in the partial-index predicate no longer matched the index (500 error).
    admin = await make_admin(client, owner_db)
    student = await sign_up(client)
    for _ in range(8):
        tree = await course_tree(client, admin, lessons=0)
        await post(
            client, f"{API}/courses/{tree['course_id']}/grants", admin, {"user_id": str(student.id)}
        )
        again = await client.post(
            f"{API}/courses/{tree['course_id']}/grants",
            json={"user_id": str(student.id)},
            headers=admin.headers,
        )
        assert again.status_code == 200
        offer = await product(client, admin, [tree["course_id"]])
        await post(client, f"{API}/products/{offer['id']}/checkout", student, None)
        await post(client, f"{API}/products/{offer['id']}/checkout", student, None, 200)
    assert await count(owner_db, "SELECT count(*) FROM course_access") == 8
    assert await count(owner_db, "SELECT count(*) FROM purchases") == 8


async def test_concurrent_webhook_completions_grant_once(
    client: httpx.AsyncClient, owner_db: Database, db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    student = await sign_up(client)
    first = await course_tree(client, admin, lessons=0)
    second = await course_tree(client, admin, lessons=0)
    bundle = await product(client, admin, [first["course_id"], second["course_id"]])
    purchase = (await post(client, f"{API}/products/{bundle['id']}/checkout", student, None))[
        "purchase"
    ]
    await asyncio.gather(*[_paid(db, purchase["id"], "cs_dup") for _ in range(10)])
    assert await count(owner_db, "SELECT count(*) FROM course_access") == 2
    assert (
        await count(owner_db, "SELECT count(*) FROM audit_log WHERE action='purchase.complete'")
        == 1
    )
    assert await count(owner_db, "SELECT count(*) FROM purchases WHERE status = 'paid'") == 1


async def test_checkouts_racing_a_product_delete_never_error(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    buyers = [await sign_up(client) for _ in range(6)]
    tree = await course_tree(client, admin, lessons=0)
    offer = await product(client, admin, [tree["course_id"]])
    calls = [
        client.post(f"{API}/products/{offer['id']}/checkout", headers=b.headers) for b in buyers
    ]
    calls.insert(3, client.delete(f"{API}/products/{offer['id']}", headers=admin.headers))
    results = await asyncio.gather(*calls)
    deleted = results.pop(3)
    purchases = await count(owner_db, "SELECT count(*) FROM purchases")
    assert purchases == sum(1 for r in results if r.status_code == 201)
    assert {r.status_code for r in results} <= {201, 404}
    if deleted.status_code == 204:
        assert purchases == 0
        assert await count(owner_db, "SELECT count(*) FROM products") == 0
    else:
        assert (deleted.status_code, deleted.json()["code"]) == (409, "product_has_purchases")
        assert await count(owner_db, "SELECT count(*) FROM products") == 1
