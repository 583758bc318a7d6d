"""Request and response bodies of the outgoing-webhooks API."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator

from studyhall.integrations.models import EVENT_TYPES
from studyhall.kit.paging import Page
from studyhall.kit.patch import PatchBody

EventType = Literal[
    "booking.created",
    "booking.canceled",
    "booking.rescheduled",
    "payment.succeeded",
    "payment.refunded",
    "purchase.created",
    "course.completed",
    "achievement.unlocked",
]
# The same values as ``models.EVENT_TYPES`` and ``models.DELIVERY_STATUSES`` (a test compares).
DeliveryStatus = Literal["pending", "delivered", "failed"]

Url = Field(
    min_length=8,
    max_length=2048,
    description="Where to POST; https (http is accepted outside production).",
    examples=["https://hooks.example.com/studyhall"],
)


def _distinct(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


class WebhookEndpointCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "url": "https://hooks.example.com/studyhall",
                    "description": "CRM sync",
                    "event_types": ["booking.created", "booking.canceled"],
                }
            ]
        },
    )

    url: str = Url
    description: str = Field(default="", max_length=500)
    event_types: list[EventType] = Field(
        min_length=1, max_length=len(EVENT_TYPES), description="The events sent to this endpoint."
    )
    enabled: bool = True

    _distinct_types = field_validator("event_types")(_distinct)


class WebhookEndpointUpdate(PatchBody):
    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, min_length=8, max_length=2048)
    description: str | None = Field(default=None, max_length=500)
    event_types: list[EventType] | None = Field(
        default=None, min_length=1, max_length=len(EVENT_TYPES)
    )
    enabled: bool | None = Field(
        default=None, description="Enabling a disabled endpoint also clears its failure count."
    )

    @field_validator("event_types")
    @classmethod
    def _distinct_types(cls, values: list[str] | None) -> list[str] | None:
        return None if values is None else _distinct(values)


class WebhookEndpointRead(BaseModel):
    """An endpoint as admins see it; its secret is never shown again after it is made."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    url: str
    description: str
    event_types: list[EventType]
    enabled: bool
    consecutive_failures: int
    disabled_at: datetime | None
    disabled_reason: str | None
    previous_secret_expires_at: datetime | None = Field(
        description="While in the future, messages carry a second signature by the old secret."
    )
    created_at: datetime
    updated_at: datetime


class WebhookEndpointSecret(WebhookEndpointRead):
    """An endpoint with its signing secret: given once, when it is made or rotated."""

    secret: str = Field(
        description="The Standard Webhooks signing secret, `whsec_` + base64. Store it now: "
        "it is never shown again."
    )


class WebhookEndpointPage(Page[WebhookEndpointRead]):
    pass


class WebhookDeliveryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    endpoint_id: uuid.UUID
    event_type: EventType
    status: DeliveryStatus
    attempt_count: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime
    message_id: str = Field(description="The `webhook-id` header of every attempt.")
    body: str = Field(exclude=True)

    @computed_field(description="The JSON body sent: `{type, timestamp, data}`.")
    def payload(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


class WebhookDeliveryPage(Page[WebhookDeliveryRead]):
    pass


class WebhookAttemptRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    number: int
    started_at: datetime
    duration_ms: int
    status_code: int | None
    error: str | None
    response_excerpt: str | None


class WebhookAttemptPage(Page[WebhookAttemptRead]):
    pass
