from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, status
from pydantic import BaseModel
from sqlalchemy import func, select

from studyhall.accounts.deps import CurrentUser
from studyhall.app import create_app
from studyhall.audit import service as audit
from studyhall.audit.models import AuditEntry
from studyhall.config import Settings
from studyhall.db.deps import Session
from studyhall.db.engine import Database
from studyhall.db.rls import cross_users_transaction
from studyhall.kit import idempotency

router = APIRouter()


class Order(BaseModel):
    amount_cents: int


@router.post("/test/orders", status_code=status.HTTP_201_CREATED)
async def place_order(
    order: Order,
    user: CurrentUser,
    session: Session,
    key: Annotated[str | None, Depends(idempotency.idempotency_key_header)],
) -> Any:
    claimed = await idempotency.claim(session, key, user.id, "POST /test/orders", order)
    if claimed.replay is not None:
        return claimed.replay
    order_id = uuid.uuid4()
    await audit.record(session, user.id, "order.create", "order", order_id, order.model_dump())
    body = {"id": str(order_id), "amount_cents": order.amount_cents}
    await idempotency.remember(session, claimed, status.HTTP_201_CREATED, body)
    return body


async def _client(settings: Settings, db: Database) -> httpx.AsyncClient:
    app = create_app(settings, db)
    app.include_router(router)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def _signed_in(http: httpx.AsyncClient) -> dict[str, str]:
    response = await http.post(
        "/api/v1/auth/sign-up",
        json={
            "email": f"{uuid.uuid4().hex[:8]}@example.org",
            "password": "a fine passphrase",
            "name": "Ida",
        },
    )
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def _orders(db: Database) -> int:
    # Only admins and units of work that cross users read the audit log back.
    async with cross_users_transaction(db) as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "order.create")
            )
            or 0
        )


async def test_same_key_same_body_replays_the_stored_response(
    settings: Settings, db: Database
) -> None:
    async with await _client(settings, db) as http:
        auth = await _signed_in(http)
        headers = {**auth, "Idempotency-Key": "order-1"}
        first = await http.post("/test/orders", json={"amount_cents": 500}, headers=headers)
        second = await http.post("/test/orders", json={"amount_cents": 500}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.content == first.content
    assert second.json() == first.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert await _orders(db) == 1


async def test_same_key_other_body_is_refused(settings: Settings, db: Database) -> None:
    async with await _client(settings, db) as http:
        auth = await _signed_in(http)
        headers = {**auth, "Idempotency-Key": "order-2"}
        await http.post("/test/orders", json={"amount_cents": 500}, headers=headers)
        other = await http.post("/test/orders", json={"amount_cents": 900}, headers=headers)
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_key_reused"
    assert await _orders(db) == 1


async def test_keys_belong_to_their_user(settings: Settings, db: Database) -> None:
    async with await _client(settings, db) as http:
        alice, bob = await _signed_in(http), await _signed_in(http)
        a = await http.post(
            "/test/orders", json={"amount_cents": 1}, headers={**alice, "Idempotency-Key": "k"}
        )
        b = await http.post(
            "/test/orders", json={"amount_cents": 1}, headers={**bob, "Idempotency-Key": "k"}
        )
    assert a.json()["id"] != b.json()["id"]
    assert await _orders(db) == 2


async def test_ten_concurrent_duplicates_have_one_effect(settings: Settings, db: Database) -> None:
    async with await _client(settings, db) as http:
        auth = await _signed_in(http)
        headers = {**auth, "Idempotency-Key": "order-race"}
        responses = await asyncio.gather(
            *(
                http.post("/test/orders", json={"amount_cents": 700}, headers=headers)
                for _ in range(10)
            )
        )
    assert [r.status_code for r in responses] == [201] * 10
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 9
    assert await _orders(db) == 1


async def test_without_a_key_every_request_counts(settings: Settings, db: Database) -> None:
    async with await _client(settings, db) as http:
        auth = await _signed_in(http)
        for _ in range(3):
            await http.post("/test/orders", json={"amount_cents": 1}, headers=auth)
    assert await _orders(db) == 3
