"""Billing's HTTP surface, assembled from its parts (mounted under ``/api/v1``)."""

from __future__ import annotations

from fastapi import APIRouter

from studyhall.billing import (
    purposes,
    routes_credits,
    routes_payments,
    routes_payouts,
    routes_subscriptions,
)

purposes.load_builtin()

router = APIRouter()
router.include_router(routes_payments.router)
router.include_router(routes_credits.router)
router.include_router(routes_subscriptions.router)
router.include_router(routes_payouts.router)
