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

# TEMP: the names the billing branch exports on its public surface, so scheduling can use them
# before the merge (dropped at merge in favour of the billing branch's own surface).
from studyhall.billing.jobs import abandon_pending as abandon_pending_payment  # noqa: E402
from studyhall.billing.ledger import Source as LedgerSource  # noqa: E402
from studyhall.billing.ledger import post as post_ledger_entry  # noqa: E402
from studyhall.billing.ledger import reverse as reverse_ledger_entry  # noqa: E402
from studyhall.billing.payments import choose_provider  # noqa: E402
from studyhall.billing.payments import prepare as prepare_payment  # noqa: E402
from studyhall.billing.payouts import record_earning  # noqa: E402
from studyhall.billing.payouts import record_refund as record_refund_of_earning  # noqa: E402
from studyhall.billing.purposes import Purpose  # noqa: E402
from studyhall.billing.purposes import register as register_purpose  # noqa: E402
from studyhall.billing.refunds import request as request_refund  # noqa: E402

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
    "LedgerSource",
    "Purpose",
    "abandon_pending_payment",
    "choose_provider",
    "post_ledger_entry",
    "prepare_payment",
    "record_earning",
    "record_refund_of_earning",
    "register_purpose",
    "request_refund",
    "reverse_ledger_entry",
]
