"""Declarative base, the constraint naming convention and the column mixins every table uses."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, MetaData, func, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: DateTime(timezone=True), uuid.UUID: UUID(as_uuid=True)}


class UUIDPrimaryKey:
    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True, server_default=text("gen_random_uuid()"), sort_order=-100
    )


class Timestamps:
    """``created_at``/``updated_at`` kept by the database (a trigger sets ``updated_at``)."""

    created_at: Mapped[datetime] = mapped_column(server_default=func.now(), sort_order=90)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), sort_order=91)


class SoftDelete:
    """User-owned rows are never removed by the API: reads exclude rows with ``deleted_at``."""

    deleted_at: Mapped[datetime | None] = mapped_column(default=None, sort_order=92)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None
