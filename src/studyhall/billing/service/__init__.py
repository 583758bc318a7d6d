"""Billing's public surface: what other domains may call (``from studyhall.billing import service
as billing``). Other domains import this package only, never its modules; billing's own modules
import their siblings directly.

- Selling through billing: a domain registers a payment ``Purpose`` (what happens when its
  payment succeeds, fails or is refunded), ``choose_provider`` and ``prepare_payment`` in the
  transaction that writes what is sold, and answers the client through ``pay_once`` (a provider is
  called) or ``once`` (nothing to call), with the optional ``IdempotencyKey``.
- Credits: ``post_ledger_entry`` and ``reverse_ledger_entry`` on a student's credit ledger.
- Refunds and tutors' earnings: ``request_refund``, ``record_earning``,
  ``record_refund_of_earning``; ``abandon_pending_payment`` when what a payment was for is gone.
- ``entitlements``: a user's plan and AI quotas.
- Admin work (the web app's admin pages; the API routes call the modules): payments searched,
  marked and refunded, credit packs and plans kept, payout statements listed, closed and marked
  paid, a user's credits read and adjusted by hand, received provider events listed.
"""

from __future__ import annotations

from studyhall.billing.schemas import PaymentStarted, PurchaseBody
from studyhall.billing.service.buying import IdempotencyKey, Intent, once, pay_once, started
from studyhall.billing.service.checkout import choose_provider
from studyhall.billing.service.checkout import prepare as prepare_payment
from studyhall.billing.service.credit_packs import create as create_credit_pack
from studyhall.billing.service.credit_packs import list_packs as list_credit_packs
from studyhall.billing.service.credit_packs import update as update_credit_pack
from studyhall.billing.service.expiry import upcoming as expiring_credits
from studyhall.billing.service.ledger import Source as LedgerSource
from studyhall.billing.service.ledger import adjust as adjust_credits
from studyhall.billing.service.ledger import balance as credit_balance
from studyhall.billing.service.ledger import entries as ledger_entries
from studyhall.billing.service.ledger import post as post_ledger_entry
from studyhall.billing.service.ledger import reverse as reverse_ledger_entry
from studyhall.billing.service.payments import PaymentListed, Started
from studyhall.billing.service.payments import admin_mark as mark_payment
from studyhall.billing.service.payments import get_visible as visible_payment
from studyhall.billing.service.payments import search as search_payments
from studyhall.billing.service.payouts import StatementListed, record_earning
from studyhall.billing.service.payouts import account_of as payout_account_of
from studyhall.billing.service.payouts import all_statements as all_payout_statements
from studyhall.billing.service.payouts import close_period as close_payout_period
from studyhall.billing.service.payouts import mark_paid as mark_payout_paid
from studyhall.billing.service.payouts import record_refund as record_refund_of_earning
from studyhall.billing.service.payouts import statement_with_entries as payout_statement
from studyhall.billing.service.payouts import statements_of as payout_statements
from studyhall.billing.service.payouts import store_account as store_payout_account
from studyhall.billing.service.payouts import unpaid_balance as unpaid_payout_balance
from studyhall.billing.service.purposes import Purpose
from studyhall.billing.service.purposes import register as register_purpose
from studyhall.billing.service.refunds import list_for_payment as refunds_of_payment
from studyhall.billing.service.refunds import request as request_refund
from studyhall.billing.service.settlement import abandon_pending_payment
from studyhall.billing.service.subscriptions import (
    Entitlements,
    create_plan,
    entitlements,
    list_plans,
    update_plan,
)
from studyhall.billing.service.webhooks import list_events as list_webhook_events

__all__ = [
    "Entitlements",
    "IdempotencyKey",
    "Intent",
    "LedgerSource",
    "PaymentListed",
    "PaymentStarted",
    "PurchaseBody",
    "Purpose",
    "Started",
    "StatementListed",
    "abandon_pending_payment",
    "adjust_credits",
    "all_payout_statements",
    "choose_provider",
    "close_payout_period",
    "create_credit_pack",
    "create_plan",
    "credit_balance",
    "entitlements",
    "expiring_credits",
    "ledger_entries",
    "list_credit_packs",
    "list_plans",
    "list_webhook_events",
    "mark_payment",
    "mark_payout_paid",
    "once",
    "pay_once",
    "payout_account_of",
    "payout_statement",
    "payout_statements",
    "post_ledger_entry",
    "prepare_payment",
    "record_earning",
    "record_refund_of_earning",
    "refunds_of_payment",
    "register_purpose",
    "request_refund",
    "reverse_ledger_entry",
    "search_payments",
    "started",
    "store_payout_account",
    "unpaid_payout_balance",
    "update_credit_pack",
    "update_plan",
    "visible_payment",
]
