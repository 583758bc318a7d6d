"""Scheduling tables: offerings, schedule settings, availability, time off, slots, bookings,
calendar feeds, reviews. ``docs/data-model.md`` maps them to the original data model.

The double-booking guards are exclusion constraints over ``tstzrange``; they live in the migration
(autogenerate cannot express them) and are named here so errors can be mapped to problem codes.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, TSTZRANGE, Range
from sqlalchemy.orm import Mapped, mapped_column

from studyhall.db.base import Base, SoftDelete, Timestamps, UUIDPrimaryKey

LEVELS = ("beginner", "intermediate", "advanced")
SLOT_STATUSES = ("open", "held", "booked", "closed")
BOOKING_STATUSES = (
    "pending_payment",
    "pending_approval",
    "confirmed",
    "completed",
    "canceled",
    "declined",
    "refunded",
)
# Statuses that occupy the tutor's and the student's time (and a slot seat).
ACTIVE_STATUSES = ("pending_payment", "pending_approval", "confirmed")
HOLD_STATUSES = ("pending_payment", "pending_approval")
PAYMENT_METHODS = ("free", "provider", "credits")
PAYMENT_STATUSES = (
    "not_required",
    "pending",
    "processing",
    "authorized",
    "captured",
    "failed",
    "canceled",
    "refunded",
)
CANCELERS = ("student", "tutor", "admin", "system")

# Constraint names the error mapping relies on.
TUTOR_OVERLAP = "ex_bookings_tutor_overlap"
STUDENT_OVERLAP = "ex_bookings_student_overlap"
TIME_OFF_OVERLAP = "ex_time_off_blocks_overlap"

_CURRENCY = "currency ~ '^[A-Z]{3}$'"


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


class Offering(UUIDPrimaryKey, Timestamps, SoftDelete, Base):
    """What a tutor sells: a titled session of a fixed length and price, for one or more seats."""

    __tablename__ = "offerings"

    tutor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    short_description: Mapped[str] = mapped_column(String(500))
    topic_tags: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'::text[]"))
    duration_minutes: Mapped[int] = mapped_column(Integer)
    price_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    level: Mapped[str | None] = mapped_column(String(20))
    prerequisites: Mapped[str | None] = mapped_column(Text)
    materials_url: Mapped[str | None] = mapped_column(String(2048))
    max_participants: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    requires_approval: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))

    __table_args__ = (
        CheckConstraint(
            "duration_minutes > 0 AND duration_minutes % 15 = 0", name="duration_quarter_hours"
        ),
        CheckConstraint("price_cents >= 0", name="price_non_negative"),
        CheckConstraint(_CURRENCY, name="currency"),
        CheckConstraint(f"level IN {_in(LEVELS)}", name="level"),
        CheckConstraint("max_participants >= 1", name="max_participants"),
        CheckConstraint("char_length(short_description) <= 500", name="short_description"),
        Index("ix_offerings_tutor_id", "tutor_id"),
        Index(
            "ix_offerings_active",
            "tutor_id",
            postgresql_where=text("is_active AND deleted_at IS NULL"),
        ),
        Index("ix_offerings_topic_tags", "topic_tags", postgresql_using="gin"),
    )


class ScheduleSettings(UUIDPrimaryKey, Timestamps, Base):
    """Per-tutor booking rules. Its row is also the lock that serializes a tutor's bookings."""

    __tablename__ = "tutor_schedule_settings"

    tutor_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), unique=True
    )
    buffer_before_minutes: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    buffer_after_minutes: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    min_notice_minutes: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    # NULL = no rolling horizon: only rules with an end can then be materialized.
    booking_horizon_days: Mapped[int | None] = mapped_column(Integer, server_default=text("90"))
    max_bookings_per_day: Mapped[int | None] = mapped_column(Integer)
    max_bookings_per_week: Mapped[int | None] = mapped_column(Integer)
    # Cancellation policy: a student canceling at least this long before the start gets a
    # full refund, later only ``late_refund_percent``; a tutor's cancellation is always full.
    full_refund_notice_hours: Mapped[int] = mapped_column(Integer, server_default=text("24"))
    late_refund_percent: Mapped[int] = mapped_column(Integer, server_default=text("0"))

    __table_args__ = (
        CheckConstraint("buffer_before_minutes >= 0 AND buffer_after_minutes >= 0", name="buffers"),
        CheckConstraint("min_notice_minutes >= 0", name="min_notice"),
        CheckConstraint("booking_horizon_days BETWEEN 1 AND 730", name="horizon"),
        CheckConstraint("max_bookings_per_day >= 1 AND max_bookings_per_week >= 1", name="caps"),
        CheckConstraint("full_refund_notice_hours >= 0", name="refund_notice"),
        CheckConstraint("late_refund_percent BETWEEN 0 AND 100", name="late_refund_percent"),
    )


class AvailabilityRuleRow(UUIDPrimaryKey, Timestamps, SoftDelete, Base):
    """Local wall-time window + IANA zone + RFC 5545 RRULE: when a tutor is available."""

    __tablename__ = "availability_rules"

    tutor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    offering_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("offerings.id", ondelete="RESTRICT")
    )
    timezone: Mapped[str] = mapped_column(String(64))
    start_date: Mapped[date] = mapped_column(Date)
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)
    rrule: Mapped[str | None] = mapped_column(Text)
    end_date: Mapped[date | None] = mapped_column(Date)
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))

    __table_args__ = (
        CheckConstraint("end_time <> start_time", name="times_differ"),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="date_range"),
        Index(
            "ix_availability_rules_tutor_active",
            "tutor_id",
            "is_active",
            postgresql_where=text("deleted_at IS NULL"),
        ),
        Index("ix_availability_rules_offering_id", "offering_id"),
    )


class TimeOffBlock(UUIDPrimaryKey, Timestamps, SoftDelete, Base):
    __tablename__ = "time_off_blocks"

    tutor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    reason: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (CheckConstraint("end_at > start_at", name="interval"),)


class Slot(UUIDPrimaryKey, Timestamps, Base):
    """A materialized, bookable occurrence; never deleted (a withdrawn slot is ``closed``)."""

    __tablename__ = "slots"

    tutor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    offering_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("offerings.id", ondelete="RESTRICT"))
    availability_rule_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("availability_rules.id", ondelete="SET NULL")
    )
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(10), server_default="open")
    capacity: Mapped[int] = mapped_column(Integer)
    seats_taken: Mapped[int] = mapped_column(Integer, server_default=text("0"))

    __table_args__ = (
        CheckConstraint("end_at > start_at", name="interval"),
        CheckConstraint(f"status IN {_in(SLOT_STATUSES)}", name="status"),
        CheckConstraint("capacity >= 1", name="capacity"),
        CheckConstraint("seats_taken >= 0 AND seats_taken <= capacity", name="seats"),
        UniqueConstraint("offering_id", "start_at"),
        Index(
            "ix_slots_tutor_open", "tutor_id", "start_at", postgresql_where=text("status = 'open'")
        ),
        Index(
            "ix_slots_offering_open",
            "offering_id",
            "start_at",
            postgresql_where=text("status = 'open'"),
        ),
        Index("ix_slots_tutor_start", "tutor_id", "start_at"),
        Index("ix_slots_availability_rule_id", "availability_rule_id"),
    )


class Booking(UUIDPrimaryKey, Timestamps, Base):
    """A student's seat in a slot; the payment columns follow billing's payment."""

    __tablename__ = "bookings"
    # Server defaults come back with the INSERT's RETURNING instead of a second SELECT.
    __mapper_args__ = {"eager_defaults": True}

    student_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    tutor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    offering_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("offerings.id", ondelete="RESTRICT"))
    slot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("slots.id", ondelete="RESTRICT"))
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    blocked_range: Mapped[Range[datetime]] = mapped_column(TSTZRANGE)
    status: Mapped[str] = mapped_column(String(20))
    hold_expires_at: Mapped[datetime | None]
    payment_method: Mapped[str] = mapped_column(String(10), server_default="free")
    payment_status: Mapped[str] = mapped_column(String(20), server_default="not_required")
    price_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    amount_authorized_cents: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    amount_captured_cents: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    amount_refunded_cents: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    # Refund owed by the cancellation policy, for billing to execute (no provider is called
    # inside the cancel transaction, so none waits on the network).
    refund_due_cents: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    payment_ref: Mapped[str | None] = mapped_column(String(255))
    # The policy the student agreed to at booking time, so a later change never applies
    # retroactively.
    full_refund_notice_hours: Mapped[int] = mapped_column(Integer, server_default=text("24"))
    late_refund_percent: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    student_notes: Mapped[str | None] = mapped_column(Text)
    tutor_notes: Mapped[str | None] = mapped_column(Text)
    canceled_by: Mapped[str | None] = mapped_column(String(10))
    cancellation_reason: Mapped[str | None] = mapped_column(String(500))
    canceled_at: Mapped[datetime | None]
    calendar_event_id_student: Mapped[str | None] = mapped_column(String(1024))
    calendar_event_id_tutor: Mapped[str | None] = mapped_column(String(1024))
    join_link: Mapped[str | None] = mapped_column(String(2048))
    sequence: Mapped[int] = mapped_column(Integer, server_default=text("0"))

    __table_args__ = (
        CheckConstraint("end_at > start_at", name="interval"),
        CheckConstraint("blocked_range @> tstzrange(start_at, end_at)", name="blocked_range"),
        CheckConstraint(f"status IN {_in(BOOKING_STATUSES)}", name="status"),
        CheckConstraint(
            f"status NOT IN {_in(HOLD_STATUSES)} OR hold_expires_at IS NOT NULL",
            name="hold_expiry",
        ),
        CheckConstraint(f"payment_method IN {_in(PAYMENT_METHODS)}", name="payment_method"),
        CheckConstraint(f"payment_status IN {_in(PAYMENT_STATUSES)}", name="payment_status"),
        CheckConstraint(f"canceled_by IN {_in(CANCELERS)}", name="canceled_by"),
        CheckConstraint(_CURRENCY, name="currency"),
        CheckConstraint(
            "price_cents >= 0 AND amount_authorized_cents >= 0 AND amount_captured_cents >= 0 "
            "AND amount_refunded_cents >= 0 AND refund_due_cents >= 0",
            name="amounts_non_negative",
        ),
        CheckConstraint("amount_refunded_cents <= amount_captured_cents", name="refund_le_capture"),
        CheckConstraint("refund_due_cents <= amount_captured_cents", name="refund_due_le_capture"),
        Index("ix_bookings_student_start", "student_id", "start_at"),
        Index("ix_bookings_tutor_start", "tutor_id", "start_at"),
        Index("ix_bookings_offering_id", "offering_id"),
        Index("ix_bookings_slot_id", "slot_id"),
        Index(
            "ix_bookings_hold_expiry",
            "hold_expires_at",
            postgresql_where=text(f"status IN {_in(HOLD_STATUSES)}"),
        ),
        Index("ix_bookings_confirmed_end", "end_at", postgresql_where=text("status = 'confirmed'")),
    )


class CalendarFeed(UUIDPrimaryKey, Timestamps, Base):
    """A private ICS feed: only the SHA-256 of its URL token is stored."""

    __tablename__ = "calendar_feeds"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    revoked_at: Mapped[datetime | None]
    last_accessed_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_calendar_feeds_user_id", "user_id"),)


REVIEW_TEXT_MAX = 5000


class Review(UUIDPrimaryKey, Timestamps, Base):
    """A student's review of one completed booking. Hidden by an admin, never deleted, so the
    tutor's rating can be recomputed from the visible rows at any time."""

    __tablename__ = "reviews"

    booking_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"))
    tutor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    student_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    rating: Mapped[int] = mapped_column(SmallInteger)
    body: Mapped[str | None] = mapped_column(Text)
    # The student may change the review until then; afterwards it is frozen.
    editable_until: Mapped[datetime]
    tutor_reply: Mapped[str | None] = mapped_column(Text)
    tutor_replied_at: Mapped[datetime | None]
    hidden_at: Mapped[datetime | None]
    hidden_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    hidden_reason: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (
        UniqueConstraint("booking_id"),
        CheckConstraint("rating BETWEEN 1 AND 5", name="rating"),
        CheckConstraint(f"char_length(body) <= {REVIEW_TEXT_MAX}", name="body_length"),
        CheckConstraint(
            f"char_length(tutor_reply) <= {REVIEW_TEXT_MAX}", name="tutor_reply_length"
        ),
        CheckConstraint("(tutor_reply IS NULL) = (tutor_replied_at IS NULL)", name="reply"),
        CheckConstraint("(hidden_at IS NULL) OR (hidden_reason IS NOT NULL)", name="hidden"),
        # The public listing: a tutor's visible reviews, newest first.
        Index(
            "ix_reviews_tutor_visible",
            "tutor_id",
            text("created_at DESC"),
            text("id DESC"),
            postgresql_where=text("hidden_at IS NULL"),
        ),
        Index("ix_reviews_student_id", "student_id"),
    )


class CalendarBusyTime(UUIDPrimaryKey, Base):
    """A busy interval from a user's connected Google Calendar (free/busy), cached so slot
    listings and bookings can be checked without calling Google. Replaced wholesale on every
    refresh and bounded in count and in time (``google/busy.py``)."""

    __tablename__ = "calendar_busy_times"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    busy: Mapped[Range[datetime]] = mapped_column(TSTZRANGE)

    __table_args__ = (Index("ix_calendar_busy_times_user_id", "user_id"),)


class CalendarBusySync(Base):
    """When a user's busy times were last fetched (also when Google reported none)."""

    __tablename__ = "calendar_busy_syncs"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    synced_at: Mapped[datetime]
