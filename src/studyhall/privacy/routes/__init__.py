"""Privacy HTTP: the caller's data exports."""

from __future__ import annotations

from fastapi import APIRouter

from studyhall.privacy.routes import exports

router = APIRouter(tags=["privacy"])
router.include_router(exports.router)

__all__ = ["router"]
