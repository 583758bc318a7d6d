"""The audit log, read by admins."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from studyhall.accounts.deps import Admin
from studyhall.audit.models import AuditEntry
from studyhall.audit.schemas import AuditEntryPage, AuditEntryRead
from studyhall.audit.service.reading import AuditFilter, list_entries, redact
from studyhall.db.rls import SystemSession
from studyhall.kit.paging import PageQuery

router = APIRouter(prefix="/admin/audit-log")


def _read(entry: AuditEntry) -> AuditEntryRead:
    shown = AuditEntryRead.model_validate(entry)
    return shown.model_copy(update={"diff": redact(entry.diff)})


@router.get("", summary="Search the audit log")
async def audit_entries_list(
    user: Admin,
    session: SystemSession,
    page: PageQuery,
    actor_user_id: Annotated[uuid.UUID | None, Query(description="Who acted.")] = None,
    entity: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    entity_id: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    action: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    since: Annotated[AwareDatetime | None, Query(description="From this moment on.")] = None,
    until: Annotated[AwareDatetime | None, Query(description="Before this moment.")] = None,
) -> AuditEntryPage:
    """Audit entries, newest first, filtered by who acted, the subject's type and id, the
    action and a time range (`since` inclusive, `until` exclusive, both with a UTC offset)."""
    where = AuditFilter(actor_user_id, entity, entity_id, action, since, until)
    rows = await list_entries(session, where, page.limit + 1, page.key(datetime, uuid.UUID))
    shown, next_cursor = page.of(rows, lambda row: (row.created_at, row.id))
    return AuditEntryPage(items=[_read(row) for row in shown], next_cursor=next_cursor)
