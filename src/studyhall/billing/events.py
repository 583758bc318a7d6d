"""Facts about money that billing emits (``kit.events``) in the transaction that settled them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class PaymentSucceeded:
    payment_id: uuid.UUID
    user_id: uuid.UUID
    purpose: str
    amount_cents: int
    currency: str
    provider: str


@dataclass(frozen=True)
class PaymentRefunded:
    payment_id: uuid.UUID
    user_id: uuid.UUID
    purpose: str
    refunded_cents: int
    total_refunded_cents: int
    currency: str
