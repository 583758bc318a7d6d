"""Request and response bodies of the scheduling API."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from studyhall.kit.paging import Page
from studyhall.kit.patch import PatchBody

Level = Literal["beginner", "intermediate", "advanced"]


class Strict(BaseModel):
    """Unknown fields are refused, so a typo is a 422 instead of a silently ignored field."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OfferingCreate(Strict):
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=20_000)
    short_description: str | None = Field(default=None, max_length=500)
    topic_tags: list[str] = Field(default_factory=list, max_length=30)
    duration_minutes: int = Field(gt=0, le=24 * 60)
    price_cents: int = Field(ge=0, le=1_000_000_000)
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    level: Level | None = None
    prerequisites: str | None = Field(default=None, max_length=5000)
    materials_url: HttpUrl | None = None
    max_participants: int = Field(default=1, ge=1, le=500)
    requires_approval: bool = False
    is_active: bool = True


class OfferingUpdate(Strict, PatchBody):
    clearable = frozenset({"level", "prerequisites", "materials_url"})

    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, min_length=1, max_length=20_000)
    short_description: str | None = Field(default=None, max_length=500)
    topic_tags: list[str] | None = Field(default=None, max_length=30)
    duration_minutes: int | None = Field(default=None, gt=0, le=24 * 60)
    price_cents: int | None = Field(default=None, ge=0, le=1_000_000_000)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    level: Level | None = None
    prerequisites: str | None = Field(default=None, max_length=5000)
    materials_url: HttpUrl | None = None
    max_participants: int | None = Field(default=None, ge=1, le=500)
    requires_approval: bool | None = None
    is_active: bool | None = None


class OfferingRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    tutor_id: uuid.UUID
    title: str
    description: str
    short_description: str
    topic_tags: list[str]
    duration_minutes: int
    price_cents: int
    currency: str
    level: str | None
    prerequisites: str | None
    materials_url: str | None
    max_participants: int
    requires_approval: bool
    is_active: bool
    created_at: datetime
    updated_at: datetime


class ScheduleSettingsUpdate(Strict, PatchBody):
    clearable = frozenset({"booking_horizon_days", "max_bookings_per_day", "max_bookings_per_week"})

    buffer_before_minutes: int | None = Field(default=None, ge=0, le=240)
    buffer_after_minutes: int | None = Field(default=None, ge=0, le=240)
    min_notice_minutes: int | None = Field(default=None, ge=0, le=60 * 24 * 60)
    booking_horizon_days: int | None = Field(default=None, ge=1, le=730)
    max_bookings_per_day: int | None = Field(default=None, ge=1, le=100)
    max_bookings_per_week: int | None = Field(default=None, ge=1, le=500)
    full_refund_notice_hours: int | None = Field(default=None, ge=0, le=24 * 60)
    late_refund_percent: int | None = Field(default=None, ge=0, le=100)


class ScheduleSettingsRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    tutor_id: uuid.UUID
    buffer_before_minutes: int
    buffer_after_minutes: int
    min_notice_minutes: int
    booking_horizon_days: int | None
    max_bookings_per_day: int | None
    max_bookings_per_week: int | None
    full_refund_notice_hours: int
    late_refund_percent: int


class RuleCreate(Strict):
    offering_id: uuid.UUID | None = None
    # Omitted means "my zone"; an empty name is a mistake, not a request for the default. The
    # name itself is checked by the service-wide zone rule (kit.timezones), as unknown_timezone.
    timezone: str | None = Field(
        default=None, min_length=1, max_length=64, description="IANA; omit for yours"
    )
    start_date: date
    start_time: time
    end_time: time = Field(description="Earlier than start_time: the window ends the next day")
    rrule: str | None = Field(default=None, max_length=500, description="RFC 5545 RRULE body")
    end_date: date | None = None


class RuleRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    tutor_id: uuid.UUID
    offering_id: uuid.UUID | None
    timezone: str
    start_date: date
    start_time: time
    end_time: time
    rrule: str | None
    end_date: date | None
    is_active: bool


class TimeOffCreate(Strict):
    start_at: datetime
    end_at: datetime
    reason: str | None = Field(default=None, max_length=500)


class TimeOffRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    tutor_id: uuid.UUID
    start_at: datetime
    end_at: datetime
    reason: str | None


class SlotRead(BaseModel):
    id: uuid.UUID
    tutor_id: uuid.UUID
    offering_id: uuid.UUID
    start_at: datetime
    end_at: datetime
    local_start: datetime = Field(description="start in the viewer's time zone")
    local_end: datetime
    timezone: str
    status: str
    capacity: int
    seats_taken: int


class SlotPage(Page[SlotRead]):
    pass


class BookingCreate(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"slot_id": "7d9f3c2e-8b41-4f7a-9a39-1c2b5e6d7f80", "pay_with": "credits"},
                {"slot_id": "7d9f3c2e-8b41-4f7a-9a39-1c2b5e6d7f80", "notes": "Chapter 3, please"},
            ]
        }
    )

    slot_id: uuid.UUID
    notes: str | None = Field(default=None, max_length=5000)
    pay_with: Literal["provider", "credits"] = Field(
        default="provider", description="paid offerings: a payment provider, or your credits"
    )
    provider: Literal["manual", "stripe", "paymob"] | None = Field(
        default=None, description="default: the configured provider"
    )


class CancelRequest(Strict):
    reason: str | None = Field(default=None, max_length=500)


class RescheduleRequest(Strict):
    slot_id: uuid.UUID


class BookingUpdate(Strict, PatchBody):
    clearable = frozenset({"notes", "join_link"})

    notes: str | None = Field(default=None, max_length=5000, description="your own notes")
    join_link: HttpUrl | None = Field(default=None, description="tutor only")


class DeclineRequest(Strict):
    reason: str | None = Field(default=None, max_length=500)


class BookingRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    student_id: uuid.UUID
    tutor_id: uuid.UUID
    offering_id: uuid.UUID
    slot_id: uuid.UUID
    start_at: datetime
    end_at: datetime
    status: str
    hold_expires_at: datetime | None
    payment_method: str
    payment_status: str
    price_cents: int
    currency: str
    amount_authorized_cents: int
    amount_captured_cents: int
    amount_refunded_cents: int
    refund_due_cents: int
    student_notes: str | None
    tutor_notes: str | None
    canceled_by: str | None
    cancellation_reason: str | None
    canceled_at: datetime | None
    calendar_event_id_student: str | None
    calendar_event_id_tutor: str | None
    join_link: str | None
    sequence: int


class BookingDetails(BookingRead):
    offering_title: str
    offering_description: str
    duration_minutes: int
    tutor_name: str
    tutor_bio: str | None
    student_name: str
    slot_start_at: datetime
    slot_end_at: datetime


class FeedCreated(BaseModel):
    url: str = Field(description="Secret: anyone with this URL can read your calendar")
    token: str


class BookingPayment(BaseModel):
    """What the client needs to pay for a booking (one handle per provider)."""

    payment_id: uuid.UUID | None = None
    provider: str | None = None
    status: str
    amount_cents: int
    currency: str
    client_secret: str | None = Field(default=None, description="Stripe")
    checkout_url: str | None = Field(default=None, description="Paymob")
    payment_key: str | None = Field(default=None, description="Paymob")
    credits_spent: int = 0


class BookingCreated(BookingRead):
    payment: BookingPayment | None = None


# --- reviews ----------------------------------------------------------------------------------

REVIEW_TEXT = 5000


class ReviewCreate(Strict):
    rating: int = Field(ge=1, le=5, description="1 to 5 stars")
    body: str | None = Field(default=None, max_length=REVIEW_TEXT)


class ReviewUpdate(Strict, PatchBody):
    clearable = frozenset({"body"})

    rating: int | None = Field(default=None, ge=1, le=5)
    body: str | None = Field(default=None, max_length=REVIEW_TEXT)


class ReviewReply(Strict):
    body: str = Field(min_length=1, max_length=REVIEW_TEXT)


class ReviewHide(Strict):
    reason: str = Field(min_length=1, max_length=500)


class ReviewRead(BaseModel):
    """A review as its student, its tutor and admins see it (hidden state included)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    booking_id: uuid.UUID
    tutor_id: uuid.UUID
    student_id: uuid.UUID
    rating: int
    body: str | None
    editable_until: datetime
    tutor_reply: str | None
    tutor_replied_at: datetime | None
    hidden_at: datetime | None
    hidden_reason: str | None
    created_at: datetime
    updated_at: datetime


class PublicReviewRead(BaseModel):
    """A visible review in a tutor's public listing: the reviewer by first name only."""

    id: uuid.UUID
    reviewer_name: str
    rating: int
    body: str | None
    tutor_reply: str | None
    tutor_replied_at: datetime | None
    created_at: datetime
    updated_at: datetime


class AdminReviewRead(ReviewRead):
    """A review as admins moderate it: with both parties' names."""

    student_name: str
    tutor_name: str


class AdminReviewPage(Page[AdminReviewRead]):
    pass


class ReviewPage(Page[PublicReviewRead]):
    pass


class LearnerTotalsRead(BaseModel):
    total_sessions_booked: int
    # Minor units per currency (ISO 4217 code → cents); currencies never add up to one number.
    total_spent_cents: dict[str, int]


class GoogleConnectStarted(BaseModel):
    authorization_url: str


class GoogleConnection(BaseModel):
    connected: bool
    calendar_id: str | None = None
    scopes: list[str] = []
    token_expires_at: datetime | None = None
    busy_synced_at: datetime | None = None


class GoogleCalendarChoice(Strict):
    # Google calendar ids: "primary", an address, or "<id>@group.calendar.google.com".
    calendar_id: str = Field(min_length=1, max_length=255, pattern=r"^[^\s/?#]+$")


class BusyRefreshed(BaseModel):
    busy_intervals: int


class OfferingPage(Page[OfferingRead]):
    pass


class RulePage(Page[RuleRead]):
    pass


class TimeOffPage(Page[TimeOffRead]):
    pass


class BookingPage(Page[BookingRead]):
    pass
