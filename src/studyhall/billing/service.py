"""Billing's service surface for other domains (``from studyhall.billing import service as
billing``): paying for a course purchase, refunding it through the payment that paid it, and a
user's entitlements (plan, AI quotas) for study's quotas."""

from __future__ import annotations

from studyhall.billing.course_purchases import checkout as checkout_course_purchase
from studyhall.billing.course_purchases import refund as refund_course_purchase
from studyhall.billing.http import IdempotencyKey, Intent, once, pay_once, started

# TEMP: the names the billing branch exports on its public surface, so scheduling can use them
# before the merge (dropped at merge in favour of the billing branch's own surface).
from studyhall.billing.jobs import abandon_pending as abandon_pending_payment
from studyhall.billing.ledger import Source as LedgerSource
from studyhall.billing.ledger import post as post_ledger_entry
from studyhall.billing.ledger import reverse as reverse_ledger_entry
from studyhall.billing.payments import (
    Started,
    choose_provider,
)
from studyhall.billing.payments import prepare as prepare_payment
from studyhall.billing.payouts import record_earning
from studyhall.billing.payouts import record_refund as record_refund_of_earning
from studyhall.billing.purposes import Purpose
from studyhall.billing.purposes import register as register_purpose
from studyhall.billing.refunds import request as request_refund
from studyhall.billing.schemas import PaymentStarted, PurchaseBody
from studyhall.billing.subscriptions import Entitlements, entitlements

__all__ = [
    "Entitlements",
    "IdempotencyKey",
    "Intent",
    "LedgerSource",
    "PaymentStarted",
    "PurchaseBody",
    "Purpose",
    "Started",
    "abandon_pending_payment",
    "checkout_course_purchase",
    "choose_provider",
    "entitlements",
    "once",
    "pay_once",
    "post_ledger_entry",
    "prepare_payment",
    "record_earning",
    "record_refund_of_earning",
    "refund_course_purchase",
    "register_purpose",
    "request_refund",
    "reverse_ledger_entry",
    "started",
]
