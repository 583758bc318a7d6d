"""The progress API, mounted under ``/api/v1``: one tag for the whole domain."""

from __future__ import annotations

from fastapi import APIRouter

from studyhall.progress.routes import achievements, me, social

router = APIRouter(tags=["progress"])
for module in (me, achievements, social):
    router.include_router(module.router)

__all__ = ["router"]
