"""Failed job attempts, kept with their error (procrastinate keeps the job row itself)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from studyhall.db.base import Base, UUIDPrimaryKey


class JobError(UUIDPrimaryKey, Base):
    __tablename__ = "job_errors"

    job_id: Mapped[int] = mapped_column(BigInteger, index=True)
    task_name: Mapped[str] = mapped_column(String(255))
    attempt: Mapped[int]
    error: Mapped[str] = mapped_column(Text)
    traceback: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
