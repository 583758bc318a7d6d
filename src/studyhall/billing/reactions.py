"""Billing's own payment purposes, registered as every selling domain registers its own: a paid
credit pack posts its credits and a refund takes back its share; a paid subscription period
starts or renews the plan, and a failed one marks it past due."""

from __future__ import annotations

from studyhall.billing.service import credit_packs, plan_credits, purposes, subscriptions

purposes.register(
    purposes.Purpose(
        credit_packs.PURPOSE,
        "credit_pack",
        on_succeeded=credit_packs.on_payment_succeeded,
        on_refunded=credit_packs.on_payment_refunded,
        before_refund=credit_packs.before_payment_refund,
    )
)
purposes.register(
    purposes.Purpose(
        plan_credits.PURPOSE,
        "subscription",
        on_succeeded=subscriptions.on_payment_succeeded,
        on_failed=subscriptions.on_payment_failed,
    )
)
