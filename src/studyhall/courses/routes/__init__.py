"""The courses API, mounted under ``/api/v1``: one tag for the whole domain."""

from __future__ import annotations

from fastapi import APIRouter

from studyhall.courses.routes import (
    courses,
    grants,
    lessons,
    products,
    progress,
    purchases,
    sections,
    taxonomy,
)

router = APIRouter(tags=["courses"])
for module in (taxonomy, courses, sections, lessons, progress, products, purchases, grants):
    router.include_router(module.router)

__all__ = ["router"]
