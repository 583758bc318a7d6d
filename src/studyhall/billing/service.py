"""Billing's service surface for other domains (``from studyhall.billing import service as
billing``): paying for a course purchase, refunding it through the payment that paid it, and a
user's entitlements (plan, AI quotas) for study's quotas."""

from __future__ import annotations

from studyhall.billing.course_purchases import checkout as checkout_course_purchase
from studyhall.billing.course_purchases import refund as refund_course_purchase
from studyhall.billing.http import IdempotencyKey, Intent, once, pay_once, started
from studyhall.billing.payments import Started
from studyhall.billing.schemas import PaymentStarted, PurchaseBody
from studyhall.billing.subscriptions import Entitlements, entitlements

__all__ = [
    "Entitlements",
    "IdempotencyKey",
    "Intent",
    "PaymentStarted",
    "PurchaseBody",
    "Started",
    "checkout_course_purchase",
    "entitlements",
    "once",
    "pay_once",
    "refund_course_purchase",
    "started",
]
