"""Outgoing webhooks: ``webhook_endpoints`` (where to send, which events, the signing secret),
``webhook_deliveries`` (the outbox: one message for one endpoint) and ``webhook_attempts`` (each
HTTP try of a delivery). Admin-only data: the policies admit admins and cross-user work."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from studyhall.db.base import Base, Timestamps, UUIDPrimaryKey

DELIVERY_STATUSES = ("pending", "delivered", "failed")
# The event types an endpoint may subscribe to (``reactions.PUBLISHED`` maps each to its fact).
EVENT_TYPES = (
    "booking.created",
    "booking.canceled",
    "booking.rescheduled",
    "payment.succeeded",
    "payment.refunded",
    "purchase.created",
    "course.completed",
    "achievement.unlocked",
)


class WebhookEndpoint(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "webhook_endpoints"

    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str] = mapped_column(String(500), server_default="")
    event_types: Mapped[list[str]] = mapped_column(ARRAY(String(64)))
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    # The signing secrets, AES-GCM under ``encryption_key_id`` (accounts.encryption); the
    # previous one signs beside the current one until ``previous_secret_expires_at``.
    secret_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    previous_secret_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    previous_secret_expires_at: Mapped[datetime | None]
    encryption_key_id: Mapped[str] = mapped_column(String(64))
    # Failed attempts since the last success; reaching the limit disables the endpoint.
    consecutive_failures: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    disabled_at: Mapped[datetime | None]
    disabled_reason: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        CheckConstraint("cardinality(event_types) > 0", name="event_types"),
        CheckConstraint("consecutive_failures >= 0", name="consecutive_failures"),
    )


class WebhookDelivery(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "webhook_deliveries"

    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    event_type: Mapped[str] = mapped_column(String(64))
    # The exact JSON body sent on every attempt: signatures cover these bytes.
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), server_default="pending")
    # When the next attempt is due; while an attempt runs, the end of its lease.
    next_attempt_at: Mapped[datetime | None]
    attempt_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    # Failed attempts since the delivery was (re)queued: picks the next wait of the schedule.
    failed_attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    delivered_at: Mapped[datetime | None]

    @property
    def message_id(self) -> str:
        """The ``webhook-id``: the same on every attempt, so receivers can drop repeats."""
        return f"msg_{self.id.hex}"

    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in DELIVERY_STATUSES) + ")", name="status"
        ),
        Index("ix_webhook_deliveries_endpoint_id_created_at", "endpoint_id", "created_at", "id"),
        # The sweep looks only at what is still to be sent.
        Index(
            "ix_webhook_deliveries_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
    )


class WebhookAttempt(UUIDPrimaryKey, Base):
    __tablename__ = "webhook_attempts"

    delivery_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE")
    )
    number: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime]
    duration_ms: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
    response_excerpt: Mapped[str | None] = mapped_column(String(1000))

    __table_args__ = (Index("ix_webhook_attempts_delivery_id_number", "delivery_id", "number"),)
