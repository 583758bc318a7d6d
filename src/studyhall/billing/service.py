"""Billing's service surface for other domains (``from studyhall.billing import service as
billing``): paying for a course purchase, refunding it through the payment that paid it, and a
user's entitlements (plan, AI quotas) for study's quotas."""

from __future__ import annotations

from studyhall.billing.http import IdempotencyKey, Intent, once, pay_once, started
from studyhall.billing.payments import Started, choose_provider
from studyhall.billing.payments import prepare as prepare_payment
from studyhall.billing.purposes import Purpose
from studyhall.billing.purposes import register as register_purpose
from studyhall.billing.refunds import request as request_refund
from studyhall.billing.schemas import PaymentStarted, PurchaseBody
from studyhall.billing.subscriptions import Entitlements, entitlements

__all__ = [
    "Entitlements",
    "IdempotencyKey",
    "Intent",
    "PaymentStarted",
    "PurchaseBody",
    "Purpose",
    "Started",
    "choose_provider",
    "entitlements",
    "once",
    "pay_once",
    "prepare_payment",
    "register_purpose",
    "request_refund",
    "started",
]
