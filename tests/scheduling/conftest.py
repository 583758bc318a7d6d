"""Helpers for the scheduling tests: people, offerings with materialized slots, counting rows."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import text

from studyhall.accounts.service.security import hash_password, issue_access_token
from studyhall.billing.config import BillingSettings, configure_billing
from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.db.rls import cross_users_transaction
from studyhall.jobs import core as jobs
from tests.conftest import run_jobs
from tests.notifications.servers import free_port


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """A real uvicorn server for `app` on this event loop; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    for _ in range(500):  # uvicorn offers no event to wait on
        if server.started:
            break
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@pytest.fixture(autouse=True)
def billing_config() -> Iterator[BillingSettings]:
    """Manual payments wait for an admin here, so a paid booking stays a hold until settled."""
    settings = use_billing(manual_auto_succeed=False)
    yield settings
    configure_billing(None)


def use_billing(**changes: Any) -> BillingSettings:
    # The tests' deployment takes money through every provider unless a test says otherwise.
    changes.setdefault("enabled_providers", ["manual", "stripe", "paymob"])
    settings = BillingSettings(_env_file=None, **changes)
    configure_billing(settings)
    return settings


PASSWORD = "correct horse battery staple 42"
API = "/api/v1"


@dataclass
class Person:
    id: uuid.UUID
    token: str
    role: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def sign_up(
    client: httpx.AsyncClient,
    role: str = "student",
    timezone: str = "UTC",
    name: str = "Ann",
    *,
    verified: bool = True,
) -> Person:
    """A new account; a tutor is verified too (only verified tutors sell) unless told not."""
    email = f"{role}-{uuid.uuid4().hex[:10]}@example.com"
    body = {"email": email, "password": PASSWORD, "name": name, "role": role, "timezone": timezone}
    response = await client.post(f"{API}/auth/sign-up", json=body)
    assert response.status_code == 201, response.text
    token = response.json()["access_token"]
    me = await client.get(f"{API}/me", headers={"Authorization": f"Bearer {token}"})
    person = Person(uuid.UUID(me.json()["id"]), token, role)
    if role == "tutor" and verified:
        await verify_tutor(person.id)
    return person


async def verify_tutor(tutor_id: uuid.UUID) -> None:
    """What an admin's verification does, written through the app's own database (admin routes
    act across users)."""
    async with cross_users_transaction(jobs.runtime().database) as session:
        await session.execute(
            text("UPDATE tutor_profiles SET verification_status = 'verified' WHERE user_id = :id"),
            {"id": tutor_id},
        )


_HASH: list[str] = []


async def many_students(owner_db: Database, settings: Settings, count: int) -> list[Person]:
    """Bulk students for the concurrency tests: rows inserted directly (argon2 sign-ups for 200
    people would dominate the run), tokens issued the way sign-in issues them."""
    if not _HASH:
        _HASH.append(hash_password(PASSWORD))
    people = []
    secret = settings.secret_key.get_secret_value()
    async with owner_db.transaction() as session:
        rows = await session.execute(
            text(
                "INSERT INTO users (email, password_hash, name, role, tokens_valid_after) "
                "SELECT 'bulk-' || g || '-' || :tag || '@example.com', :hash, 'Student ' || g, "
                "'student', now() - interval '1 minute' FROM generate_series(1, :n) g RETURNING id"
            ),
            {"n": count, "hash": _HASH[0], "tag": uuid.uuid4().hex[:8]},
        )
        ids = [row[0] for row in rows]
    for user_id in ids:
        people.append(Person(user_id, issue_access_token(user_id, "student", secret), "student"))
    return people


async def make_admin(client: httpx.AsyncClient, owner_db: Database) -> Person:
    person = await sign_up(client, "student", name="Admin")
    async with owner_db.transaction() as session:
        await session.execute(
            text("UPDATE users SET role = 'admin' WHERE id = :id"), {"id": person.id}
        )
    person.role = "admin"
    return person


def offering_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Algebra 1:1",
        "description": "Linear equations, step by step.",
        "duration_minutes": 60,
        "price_cents": 0,
        "currency": "USD",
        "topic_tags": ["math", "algebra"],
    }
    body.update(overrides)
    return body


async def create_offering(
    client: httpx.AsyncClient, tutor: Person, **overrides: Any
) -> dict[str, Any]:
    response = await client.post(
        f"{API}/offerings", json=offering_body(**overrides), headers=tutor.headers
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def add_rule(client: httpx.AsyncClient, tutor: Person, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "timezone": "UTC",
        "start_date": date.today().isoformat(),
        "start_time": "00:00",
        "end_time": "23:45",
        "rrule": "FREQ=DAILY",
    }
    body.update(overrides)
    response = await client.post(f"{API}/availability-rules", json=body, headers=tutor.headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def set_settings(client: httpx.AsyncClient, tutor: Person, **values: Any) -> None:
    response = await client.patch(f"{API}/schedule/settings", json=values, headers=tutor.headers)
    assert response.status_code == 200, response.text


async def slots(
    client: httpx.AsyncClient,
    *,
    days: int = 30,
    start: datetime | None = None,
    tz: str = "UTC",
    **filters: Any,
) -> list[dict[str, Any]]:
    """Every open slot in the range, following `next_cursor` through the pages."""
    begin = start or datetime.now(UTC)
    params = {
        "from": begin.isoformat(),
        "to": (begin + timedelta(days=days)).isoformat(),
        "tz": tz,
        "limit": "200",
        **{key: str(value) for key, value in filters.items()},
    }
    result: list[dict[str, Any]] = []
    while True:
        response = await client.get(f"{API}/slots", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        result.extend(page["items"])
        if page["next_cursor"] is None:
            return result
        params["cursor"] = page["next_cursor"]


async def scalar(db: Database, sql: str, **params: Any) -> Any:
    async with db.transaction() as session:
        return (await session.execute(text(sql), params)).scalar()


async def execute(db: Database, sql: str, **params: Any) -> None:
    async with db.transaction() as session:
        await session.execute(text(sql), params)


async def rows(db: Database, sql: str, **params: Any) -> list[Any]:
    async with db.transaction() as session:
        return list((await session.execute(text(sql), params)).all())


async def book(
    client: httpx.AsyncClient, person: Person, slot_id: str, **extra: Any
) -> httpx.Response:
    return await client.post(
        f"{API}/bookings", json={"slot_id": slot_id, **extra}, headers=person.headers
    )


@dataclass
class Market:
    tutor: Person
    offering: dict[str, Any]
    open_slots: list[dict[str, Any]]


MarketFactory = Callable[..., Awaitable[Market]]


@pytest.fixture
def market(client: httpx.AsyncClient, db: Database) -> MarketFactory:
    """A tutor with one offering and availability, slots materialized by the real job."""

    async def build(
        rule: dict[str, Any] | None = None,
        settings: dict[str, Any] | None = None,
        tutor_tz: str = "UTC",
        **offering: Any,
    ) -> Market:
        tutor = await sign_up(client, "tutor", timezone=tutor_tz, name="Tess Tutor")
        created = await create_offering(client, tutor, **offering)
        if settings:
            await set_settings(client, tutor, **settings)
        await add_rule(client, tutor, **(rule or {}))
        await run_jobs()
        listed = await slots(client, tutor_id=tutor.id, days=settings_days(settings))
        return Market(tutor, created, listed)

    return build


def settings_days(settings: dict[str, Any] | None) -> int:
    return min(93, (settings or {}).get("booking_horizon_days") or 30)


OVERLAPS_SQL = """
SELECT
  (SELECT count(*) FROM bookings a JOIN bookings b
     ON a.tutor_id = b.tutor_id AND a.id < b.id AND a.slot_id <> b.slot_id
    AND a.blocked_range && b.blocked_range
   WHERE a.status IN ('pending_payment','pending_approval','confirmed')
     AND b.status IN ('pending_payment','pending_approval','confirmed'))
  +
  (SELECT count(*) FROM bookings a JOIN bookings b
     ON a.student_id = b.student_id AND a.id < b.id
    AND tstzrange(a.start_at, a.end_at) && tstzrange(b.start_at, b.end_at)
   WHERE a.status IN ('pending_payment','pending_approval','confirmed')
     AND b.status IN ('pending_payment','pending_approval','confirmed'))
"""

SEATS_MISMATCH_SQL = """
SELECT count(*) FROM slots s
WHERE s.seats_taken <> (SELECT count(*) FROM bookings b WHERE b.slot_id = s.id
                        AND b.status IN ('pending_payment','pending_approval','confirmed'))
"""
