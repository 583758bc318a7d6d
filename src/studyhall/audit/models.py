"""The ``audit_log``: append-only (the API role may only INSERT and SELECT), partitioned by month
of ``created_at`` (``audit_log_YYYY_MM`` plus ``audit_log_default``; see ``service/partitions.py``).
The partition key must be part of the primary key, hence ``(id, created_at)``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from studyhall.db.base import Base, UUIDPrimaryKey


class AuditEntry(UUIDPrimaryKey, Base):
    __tablename__ = "audit_log"

    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[str] = mapped_column(String(100), index=True)
    entity: Mapped[str] = mapped_column(String(100))
    entity_id: Mapped[str | None] = mapped_column(String(100))
    diff: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    request_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(
        server_default=func.now(), index=True, primary_key=True
    )

    __table_args__ = (
        Index("ix_audit_log_entity_entity_id", "entity", "entity_id"),
        # A request may write rows it may not read back (only admins and units of work that cross
        # users read the log), so an insert asks for nothing back: RETURNING would need SELECT.
        {"postgresql_partition_by": "RANGE (created_at)", "implicit_returning": False},
    )
