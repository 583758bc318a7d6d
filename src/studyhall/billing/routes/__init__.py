"""Billing's HTTP surface, assembled from its parts (mounted under ``/api/v1``), one tag for all."""

from __future__ import annotations

from fastapi import APIRouter

from studyhall.billing.routes import credits, payments, payouts, subscriptions

router = APIRouter(tags=["billing"])
router.include_router(payments.router)
router.include_router(credits.router)
router.include_router(subscriptions.router)
router.include_router(payouts.router)
