"""Audit log HTTP bodies: one entry as an admin reads it, and a page of them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from studyhall.kit.paging import Page


class AuditEntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    actor_user_id: uuid.UUID | None = Field(description="Who acted; null for the system (a job).")
    action: str = Field(examples=["booking.cancel"])
    entity: str = Field(description="The subject's type.", examples=["booking"])
    entity_id: str | None = Field(description="The subject's id.")
    diff: dict[str, Any] | None = Field(
        description='What changed, as `{"field": [old, new]}`; secret values are redacted.'
    )
    request_id: str | None
    created_at: datetime


class AuditEntryPage(Page[AuditEntryRead]):
    pass
