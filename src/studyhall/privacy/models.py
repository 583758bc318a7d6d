"""``data_exports``: one archive of everything held about a user, downloadable once."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from studyhall.db.base import Base, Timestamps, UUIDPrimaryKey

EXPORT_STATUSES = ("pending", "ready", "downloaded", "expired", "failed")


class DataExport(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "data_exports"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(20), server_default="pending")
    storage_key: Mapped[str | None] = mapped_column(Text)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    # The link's secret is mailed to the user; only its SHA-256 is kept.
    token_hash: Mapped[str | None] = mapped_column(String(64))
    expires_at: Mapped[datetime | None]
    ready_at: Mapped[datetime | None]
    downloaded_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in EXPORT_STATUSES) + ")", name="status"
        ),
        # One export being built per user: asking again while it is built returns that one.
        Index(
            "uq_data_exports_user_id_pending",
            "user_id",
            unique=True,
            postgresql_where=text("status = 'pending'"),
        ),
    )
