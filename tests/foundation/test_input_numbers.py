"""Every integer a client sends is bounded: a huge one is a 422, never a database overflow."""

from __future__ import annotations

import uuid

import httpx

from studyhall.db.engine import Database
from studyhall.kit.paging import MAX_LIMIT
from tests.accounts.conftest import make_admin, sign_up
from tests.foundation.openapi_walk import OpenApi

API = "/api/v1"
BIGINT_OVERFLOW = 9223372036854775808
INT_OVERFLOW = 2147483648


def test_every_integer_in_the_openapi_document_has_a_maximum() -> None:
    unbounded = [
        where
        for where, schema in OpenApi.of_app().integer_places()
        if "maximum" not in schema and "exclusiveMaximum" not in schema
    ]
    assert unbounded == []


async def test_huge_integers_in_query_parameters_are_422(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    student = await sign_up(client)
    admin = await make_admin(client, owner_db)
    cases = [
        (f"{API}/bookings", student.headers, {"limit": BIGINT_OVERFLOW}, "query.limit"),
        (f"{API}/billing/payments", student.headers, {"limit": BIGINT_OVERFLOW}, "query.limit"),
        (f"{API}/offerings", {}, {"limit": BIGINT_OVERFLOW}, "query.limit"),
        (f"{API}/tutors", {}, {"min_price_cents": BIGINT_OVERFLOW}, "query.min_price_cents"),
        (
            f"{API}/billing/credits/entries",
            student.headers,
            {"limit": INT_OVERFLOW},
            "query.limit",
        ),
        (
            f"{API}/billing/admin/users/{student.id}/credits/entries",
            admin.headers,
            {"limit": INT_OVERFLOW},
            "query.limit",
        ),
    ]
    for url, headers, params, field in cases:
        response = await client.get(url, params=params, headers=headers)
        assert response.status_code == 422, (url, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert [f"{e['in']}.{e['field']}" for e in response.json()["errors"]] == [field]


async def test_the_largest_allowed_values_are_answered(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    student = await sign_up(client)
    for url, params in [
        (f"{API}/bookings", {"limit": MAX_LIMIT}),
        (f"{API}/billing/payments", {"limit": MAX_LIMIT}),
        (f"{API}/offerings", {"limit": MAX_LIMIT}),
        (f"{API}/billing/credits/entries", {"limit": MAX_LIMIT}),
    ]:
        response = await client.get(url, params=params, headers=student.headers)
        assert response.status_code == 200, (url, response.text)


async def test_huge_integers_in_bodies_are_422(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    plan = {
        "key": "big",
        "name": "Big",
        "billing_cycle": "monthly",
        "price_cents": 1000,
        "currency": "USD",
        "ai_daily_token_quota": BIGINT_OVERFLOW,
    }
    response = await client.post(f"{API}/billing/admin/plans", json=plan, headers=admin.headers)
    assert response.status_code == 422, response.text
    assert [f"{e['in']}.{e['field']}" for e in response.json()["errors"]] == [
        "body.ai_daily_token_quota"
    ]
    refund = {"amount_cents": BIGINT_OVERFLOW}
    response = await client.post(
        f"{API}/billing/admin/payments/{admin.id}/refunds",
        json=refund,
        headers={**admin.headers, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert response.status_code == 422, response.text
    assert [f"{e['in']}.{e['field']}" for e in response.json()["errors"]] == ["body.amount_cents"]
