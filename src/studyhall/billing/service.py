"""Billing's service surface for other domains (``from studyhall.billing import service as
billing``): paying for a course purchase and refunding it through the payment that paid it."""

from __future__ import annotations

from studyhall.billing.course_purchases import checkout as checkout_course_purchase
from studyhall.billing.course_purchases import refund as refund_course_purchase
from studyhall.billing.http import IdempotencyKey, once, started
from studyhall.billing.payments import Started
from studyhall.billing.schemas import PaymentStarted, PurchaseBody

__all__ = [
    "IdempotencyKey",
    "PaymentStarted",
    "PurchaseBody",
    "Started",
    "checkout_course_purchase",
    "once",
    "refund_course_purchase",
    "started",
]
