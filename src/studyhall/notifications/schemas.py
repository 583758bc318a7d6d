"""Request and response bodies of the notifications API."""

from __future__ import annotations

import uuid
from datetime import datetime, time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from studyhall.kit.paging import Page
from studyhall.notifications.models import Channel, NotificationType


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class NotificationRead(BaseModel):
    id: uuid.UUID
    type: str
    channel: str
    status: str
    title: str
    payload: dict[str, Any]
    entity: str | None
    entity_id: uuid.UUID | None
    created_at: datetime
    sent_at: datetime | None
    read_at: datetime | None


class NotificationPage(Page[NotificationRead]):
    """One page of the caller's inbox, newest first."""


class UnreadCount(BaseModel):
    unread: int


class Marked(BaseModel):
    marked: int


class PreferenceRead(BaseModel):
    type: str
    channel: str
    enabled: bool
    locked: bool = Field(description="Account emails cannot be turned off.")


class PreferencePage(Page[PreferenceRead]):
    """The caller's preferences, one entry per type and channel."""


class PreferenceChange(Strict):
    type: NotificationType
    channel: Channel
    enabled: bool


class PreferencesUpdate(Strict):
    preferences: Annotated[list[PreferenceChange], Field(min_length=1, max_length=100)]


class QuietHoursUpdate(Strict):
    """Local wall-clock times in the caller's own zone; both null turns quiet hours off."""

    quiet_hours_start: time | None = None
    quiet_hours_end: time | None = None


class QuietHours(BaseModel):
    quiet_hours_start: time | None
    quiet_hours_end: time | None
    timezone: str = Field(description="The caller's zone, in which the times are read.")


class BroadcastCreate(Strict):
    title: Annotated[str, Field(min_length=1, max_length=200)]
    body: Annotated[str, Field(min_length=1, max_length=5000)]
    role: Literal["student", "tutor", "admin"] | None = Field(
        default=None, description="Only users of this role; null means everyone."
    )
    channels: Annotated[list[Channel], Field(min_length=1, max_length=3)] | None = None


class BroadcastRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    created_by: uuid.UUID | None
    role: str | None
    channels: list[str] | None
    title: str
    recipients: int = Field(description="Active users of the role when the broadcast started.")
    users_reached: int = Field(description="Users given at least one notification so far.")
    notifications_created: int
    batches: int = Field(description="Batch runs so far.")
    finished_at: datetime | None
    created_at: datetime


class AdminNotificationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    user_id: uuid.UUID
    type: str
    channel: str
    status: str
    attempts: int
    last_error: str | None
    scheduled_for: datetime
    sent_at: datetime | None
    created_at: datetime


class BroadcastPage(Page[BroadcastRead]):
    """Broadcasts, newest first."""


class AdminNotificationPage(Page[AdminNotificationRead]):
    """Notifications of every user in one status, newest first."""
