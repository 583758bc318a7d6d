"""The progress API, mounted under ``/api/v1``."""

from __future__ import annotations

from fastapi import APIRouter

from studyhall.progress.routes import achievements, me, social

router = APIRouter()
router.include_router(me.router)
router.include_router(achievements.router)
router.include_router(social.router)
