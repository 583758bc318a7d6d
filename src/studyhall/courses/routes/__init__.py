"""The courses API, mounted under ``/api/v1``."""

from __future__ import annotations

from fastapi import APIRouter

from studyhall.courses import routes_catalog, routes_store

router = APIRouter()
router.include_router(routes_catalog.router)
router.include_router(routes_store.router)
