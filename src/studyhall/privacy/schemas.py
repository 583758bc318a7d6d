"""Privacy HTTP shapes."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict


class DataExportRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    status: str
    size_bytes: int | None
    created_at: datetime
    ready_at: datetime | None
    expires_at: datetime | None
    downloaded_at: datetime | None
