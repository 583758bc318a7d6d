"""Notification test helpers: people signed up through the API, config overrides, queue reads."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from studyhall.db.engine import Database
from studyhall.notifications.config import get_config


@dataclass
class Person:
    id: uuid.UUID
    token: str
    email: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def sign_up(
    client: httpx.AsyncClient,
    name: str,
    *,
    role: str = "student",
    timezone: str = "UTC",
    phone: str | None = None,
) -> Person:
    email = f"{name.lower()}-{uuid.uuid4().hex[:8]}@example.com"
    response = await client.post(
        "/api/v1/auth/sign-up",
        json={
            "email": email,
            "password": "a long and unusual passphrase 42",
            "name": name,
            "role": role,
            "timezone": timezone,
        },
    )
    assert response.status_code == 201, response.text
    token = response.json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    if phone is not None:
        patched = await client.patch("/api/v1/me", json={"phone": phone}, headers=headers)
        assert patched.status_code == 200, patched.text
    me = await client.get("/api/v1/me", headers=headers)
    return Person(id=uuid.UUID(me.json()["id"]), token=token, email=email)


async def make_admin(owner_db: Database, person: Person) -> None:
    async with owner_db.transaction() as session:
        await session.execute(
            text("UPDATE users SET role = 'admin' WHERE id = :id"), {"id": person.id}
        )


async def rows(owner_db: Database, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    async with owner_db.transaction() as session:
        return [tuple(row) for row in (await session.execute(text(sql), params)).all()]


async def delivery_jobs(owner_db: Database) -> list[tuple[list[str], datetime | None, str]]:
    """(sorted notification ids, scheduled_at, status) of every delivery job, oldest first."""
    found = await rows(
        owner_db,
        "SELECT args->'notification_ids', scheduled_at, status::text FROM procrastinate_jobs "
        "WHERE task_name = 'studyhall.notifications.deliver' ORDER BY id",
    )
    return [(sorted(r[0]), r[1], str(r[2])) for r in found]


async def queued_deliveries(owner_db: Database) -> dict[str, datetime | None]:
    """Notification id -> when its delivery job is scheduled, over every delivery job."""
    return {
        notification_id: at
        for ids, at, _ in await delivery_jobs(owner_db)
        for notification_id in ids
    }


async def make_jobs_due(owner_db: Database) -> None:
    """Time passes: every waiting job (a retry's backoff, a reminder) is due now."""
    async with owner_db.transaction() as session:
        await session.execute(
            text("UPDATE procrastinate_jobs SET scheduled_at = now() WHERE status = 'todo'")
        )


@pytest.fixture
def notify_config(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Set ``STUDYHALL_NOTIFY_*`` variables in a test; the config is re-read around it."""
    get_config.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    get_config.cache_clear()


@pytest.fixture(autouse=True)
def _fresh_config() -> Iterator[None]:
    get_config.cache_clear()
    yield
    get_config.cache_clear()
