"""The outbox: a domain fact becomes one pending delivery per enabled endpoint that subscribed
to its type, written in the transaction that made the fact, so a rolled-back booking sends
nothing and a committed one is sent even if the process dies right after the commit.

The body is the Standard Webhooks payload ``{"type", "timestamp", "data"}``; ``data`` is the
fact's fields, ids as strings and times as RFC 3339 with ``Z``. It is serialized once, here:
every attempt sends (and signs) the same bytes.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_OUTBOX = text("SELECT studyhall_webhook_outbox(:event_type, :body)")


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return rfc3339(value)
    return value


def body(event_type: str, fact: Any, now: datetime | None = None) -> str:
    """The JSON body for ``fact`` (a frozen dataclass) published as ``event_type``."""
    data = {field.name: _plain(getattr(fact, field.name)) for field in dataclasses.fields(fact)}
    payload = {
        "type": event_type,
        "timestamp": rfc3339(now or datetime.now(UTC)),
        "data": data,
    }
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


async def write(session: AsyncSession, event_type: str, fact: Any) -> list[uuid.UUID]:
    """Queue ``fact`` for every enabled endpoint subscribed to ``event_type``; the new
    deliveries' ids. The database function does it as the owner, so the emitting user's
    transaction never gains the right to read the endpoints."""
    result = await session.scalars(
        _OUTBOX, {"event_type": event_type, "body": body(event_type, fact)}
    )
    return list(result)
