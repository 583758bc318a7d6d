"""``audit.record``: one row per state change, written in the caller's transaction, so the
change and its record commit or roll back together."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.encoders import jsonable_encoder
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.audit.models import AuditEntry
from studyhall.kit.logging import request_id_var


async def record(
    session: AsyncSession,
    actor: uuid.UUID | None,
    action: str,
    entity: str,
    entity_id: uuid.UUID | str | None,
    diff: dict[str, Any] | None = None,
) -> None:
    """``actor`` None means the system (a job, the CLI)."""
    await session.execute(
        insert(AuditEntry).values(
            actor_user_id=actor,
            action=action,
            entity=entity,
            entity_id=None if entity_id is None else str(entity_id),
            diff=None if diff is None else jsonable_encoder(diff),
            request_id=request_id_var.get(),
        )
    )


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The ``{"field": [old, new]}`` diff of the fields that changed."""
    return {
        key: [before.get(key), value] for key, value in after.items() if before.get(key) != value
    }
