"""Reading the audit log (admins): filters and keyset paging, newest first.

An entry's ``diff`` is shown with the values of secret-looking fields (tokens, passwords, keys)
replaced, so reading the log never hands out a credential even if a caller once recorded one.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.audit.models import AuditEntry
from studyhall.kit.cursors import CursorValue
from studyhall.kit.errors import Unprocessable
from studyhall.kit.paging import after

REDACTED = "[redacted]"
_SECRET_FIELD = re.compile(r"secret|token|password|passwd|api_?key|private|credential", re.I)


@dataclass(frozen=True)
class AuditFilter:
    actor_user_id: uuid.UUID | None = None
    entity: str | None = None
    entity_id: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def check(self) -> None:
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise Unprocessable("`since` must be earlier than `until`.", code="invalid_time_range")
        if self.entity_id is not None and self.entity is None:
            raise Unprocessable(
                "`entity_id` needs `entity` too: an id means something only with its type.",
                code="entity_id_without_entity",
            )


def _conditions(where: AuditFilter) -> list[Any]:
    conditions: list[Any] = []
    if where.actor_user_id is not None:
        conditions.append(AuditEntry.actor_user_id == where.actor_user_id)
    if where.entity is not None:
        conditions.append(AuditEntry.entity == where.entity)
    if where.entity_id is not None:
        conditions.append(AuditEntry.entity_id == where.entity_id)
    if where.action is not None:
        conditions.append(AuditEntry.action == where.action)
    if where.since is not None:
        conditions.append(AuditEntry.created_at >= where.since)
    if where.until is not None:
        conditions.append(AuditEntry.created_at < where.until)
    return conditions


async def list_entries(
    session: AsyncSession,
    where: AuditFilter,
    limit: int,
    after_key: tuple[CursorValue, ...] | None,
) -> list[AuditEntry]:
    """Entries matching ``where``, newest first; up to ``limit`` after the keyset ``after_key``
    (created_at, id). A time range lets PostgreSQL read only the months it covers."""
    where.check()
    query = select(AuditEntry).where(*_conditions(where))
    condition = after(
        [AuditEntry.created_at.expression, AuditEntry.id.expression], after_key, descending=True
    )
    if condition is not None:
        query = query.where(condition)
    rows = await session.scalars(
        query.order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc()).limit(limit)
    )
    return list(rows.all())


def redact(value: Any) -> Any:
    """``value`` with every secret-looking field's value replaced, at any depth."""
    if isinstance(value, dict):
        return {
            key: REDACTED if _SECRET_FIELD.search(str(key)) else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value
