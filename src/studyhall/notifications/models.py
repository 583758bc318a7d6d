"""Notifications (one row per channel), preferences and quiet-hours settings, and the
catalogue: which types exist, over which channels, and which the recipient may turn off."""

from __future__ import annotations

import uuid
from datetime import datetime, time
from typing import Any, Literal, get_args

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from studyhall.db.base import Base, SoftDelete, Timestamps, UUIDPrimaryKey

NotificationType = Literal[
    "booking_confirmation",
    "booking_reminder",
    "booking_cancellation",
    "payment_success",
    "payment_failed",
    "credit_low",
    "ai_artifact_ready",
    "system_update",
    "email_verification",
    "password_reset",
    "guardian_consent",
    "achievement_unlocked",
    "data_export_ready",
]
Channel = Literal["email", "sms", "inapp"]

TYPES: tuple[str, ...] = get_args(NotificationType)
CHANNELS: tuple[str, ...] = get_args(Channel)
STATUSES = ("pending", "sent", "failed", "read", "canceled")

# Account emails: a person who cannot receive them cannot use their account, so no preference,
# unsubscribe link or quiet hours applies to them.
TRANSACTIONAL: frozenset[str] = frozenset(
    {"email_verification", "password_reset", "guardian_consent", "data_export_ready"}
)

_EMAIL_AND_INAPP = frozenset({"email", "inapp"})

# SMS costs money and wakes people up: it is on only where the recipient turned it on.
DEFAULT_CHANNELS: dict[str, frozenset[str]] = {
    "booking_confirmation": _EMAIL_AND_INAPP,
    "booking_reminder": _EMAIL_AND_INAPP,
    "booking_cancellation": _EMAIL_AND_INAPP,
    "payment_success": _EMAIL_AND_INAPP,
    "payment_failed": _EMAIL_AND_INAPP,
    "credit_low": _EMAIL_AND_INAPP,
    "ai_artifact_ready": frozenset({"inapp"}),
    "system_update": _EMAIL_AND_INAPP,
    "email_verification": frozenset({"email"}),
    "password_reset": frozenset({"email"}),
    "guardian_consent": frozenset({"email"}),
    "achievement_unlocked": frozenset({"inapp"}),
    "data_export_ready": _EMAIL_AND_INAPP,
}


def default_enabled(type_: str, channel: str) -> bool:
    return channel in DEFAULT_CHANNELS[type_]


def is_transactional(type_: str) -> bool:
    return type_ in TRANSACTIONAL


class Notification(UUIDPrimaryKey, Timestamps, SoftDelete, Base):
    __tablename__ = "notifications"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), server_default="pending")
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    urgent: Mapped[bool] = mapped_column(server_default=text("false"))
    entity: Mapped[str | None] = mapped_column(String(50))
    entity_id: Mapped[uuid.UUID | None]
    dedupe_key: Mapped[str | None] = mapped_column(String(200))
    scheduled_for: Mapped[datetime] = mapped_column(server_default=func.now())
    attempts: Mapped[int] = mapped_column(server_default=text("0"))
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    read_at: Mapped[datetime | None]
    # Set while a job is sending: a second job for the same row (an admin retry, a reschedule
    # back to the same time) then skips instead of sending twice. Expires if a worker dies.
    claimed_until: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint(f"type IN {TYPES}", name="type"),
        CheckConstraint(f"channel IN {CHANNELS}", name="channel"),
        CheckConstraint(f"status IN {STATUSES}", name="status"),
        CheckConstraint("attempts >= 0", name="attempts"),
        CheckConstraint(
            "status <> 'read' OR (channel = 'inapp' AND read_at IS NOT NULL)", name="read"
        ),
        # A reminder or a broadcast row exists once per recipient, however often it is requested.
        UniqueConstraint("user_id", "dedupe_key"),
        Index(
            "ix_notifications_user_id",
            "user_id",
            "created_at",
            postgresql_where=text("channel = 'inapp'"),
        ),
        Index(
            "ix_notifications_status",
            "scheduled_for",
            postgresql_where=text("status = 'pending'"),
        ),
        Index(
            "ix_notifications_entity_entity_id",
            "entity",
            "entity_id",
            postgresql_where=text("entity_id IS NOT NULL"),
        ),
    )


class NotificationPreference(UUIDPrimaryKey, Timestamps, Base):
    """An explicit choice; a missing row means the type's default (``catalog.DEFAULT_CHANNELS``)."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(10))
    enabled: Mapped[bool]

    __table_args__ = (
        CheckConstraint(f"type IN {TYPES}", name="type"),
        CheckConstraint(f"channel IN {CHANNELS}", name="channel"),
        UniqueConstraint("user_id", "type", "channel"),
    )


class NotificationSettings(UUIDPrimaryKey, Timestamps, Base):
    """Quiet hours as wall-clock times in the user's own zone (``users.timezone``)."""

    __tablename__ = "notification_settings"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), unique=True
    )
    quiet_hours_start: Mapped[time | None]
    quiet_hours_end: Mapped[time | None]

    __table_args__ = (
        CheckConstraint(
            "(quiet_hours_start IS NULL) = (quiet_hours_end IS NULL)", name="quiet_hours_pair"
        ),
        CheckConstraint(
            "quiet_hours_start IS NULL OR quiet_hours_start <> quiet_hours_end",
            name="quiet_hours_span",
        ),
    )


class NotificationBroadcast(UUIDPrimaryKey, Timestamps, Base):
    """An admin's ``system_update`` to a role or everyone; its batch jobs count their progress."""

    __tablename__ = "notification_broadcasts"

    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    role: Mapped[str | None] = mapped_column(String(20))
    channels: Mapped[list[str] | None] = mapped_column(JSONB)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    recipients: Mapped[int]
    users_reached: Mapped[int] = mapped_column(server_default=text("0"))
    notifications_created: Mapped[int] = mapped_column(server_default=text("0"))
    batches: Mapped[int] = mapped_column(server_default=text("0"))
    finished_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint("role IN ('student', 'tutor', 'admin')", name="role"),
        CheckConstraint(
            "recipients >= 0 AND users_reached >= 0 AND notifications_created >= 0 "
            "AND batches >= 0",
            name="counts",
        ),
    )
