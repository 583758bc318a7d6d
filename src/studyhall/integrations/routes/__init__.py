"""The outgoing-webhooks API (admins only), mounted under ``/api/v1``."""

from __future__ import annotations

from fastapi import APIRouter

from studyhall.integrations.routes import deliveries, endpoints

router = APIRouter(tags=["integrations"])
router.include_router(endpoints.router)
router.include_router(deliveries.router)
