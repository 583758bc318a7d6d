"""Webhook tests: settings with an encryption key, short retry waits, a receiver, helpers."""

from __future__ import annotations

import base64
import email
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import Message
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import text

from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.integrations.config import get_config
from studyhall.kit import events
from studyhall.scheduling.events import BookingCreated
from tests.conftest import run_jobs
from tests.courses.helpers import Actor
from tests.integrations.receiver import Receiver, running_receiver

API = "/api/v1/admin/webhook-endpoints"
KEY = base64.b64encode(b"k" * 32).decode()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"encryption_keys": SecretStr(f"k1:{KEY}")})


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Retries due at once, a short timeout, and disabling after a few failures."""
    monkeypatch.setenv("STUDYHALL_WEBHOOKS_RETRY_SCHEDULE_S", "[0, 0, 0, 0, 0]")
    monkeypatch.setenv("STUDYHALL_WEBHOOKS_TIMEOUT_S", "1")
    monkeypatch.setenv("STUDYHALL_WEBHOOKS_DISABLE_AFTER_FAILURES", "4")
    get_config.cache_clear()
    yield
    get_config.cache_clear()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


async def register(
    client: httpx.AsyncClient,
    admin: Actor,
    receiver: Receiver,
    event_types: list[str] | None = None,
) -> dict[str, Any]:
    response = await client.post(
        API,
        json={
            "url": receiver.url,
            "description": "test receiver",
            "event_types": event_types or ["booking.created"],
        },
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    receiver.secrets.append(created["secret"])
    return created


def booking_created(student_id: uuid.UUID | None = None) -> BookingCreated:
    starts = datetime(2026, 12, 9, 9, 0, tzinfo=UTC)
    return BookingCreated(
        booking_id=uuid.uuid4(),
        student_id=student_id or uuid.uuid4(),
        tutor_id=uuid.uuid4(),
        offering_id=uuid.uuid4(),
        starts_at=starts,
        ends_at=starts + timedelta(hours=1),
        status="confirmed",
    )


async def emit_as(db: Database, user_id: uuid.UUID, *facts: object) -> None:
    """Emit facts the way a domain does: inside the acting user's own transaction."""
    async with db.transaction(user_id) as session:
        for fact in facts:
            await events.emit(session, fact)


async def settle(rounds: int = 6) -> None:
    """Run due jobs until none is left (a retry due at once is a new job)."""
    for _ in range(rounds):
        await run_jobs()


async def owner_value(owner_db: Database, sql: str, **params: Any) -> Any:
    async with owner_db.transaction() as session:
        return await session.scalar(text(sql), params)


def mails(settings: Settings) -> list[Message]:
    folder = settings.outbox_dir
    if not folder.exists():
        return []
    return [email.message_from_bytes(path.read_bytes()) for path in sorted(folder.glob("*.eml"))]
