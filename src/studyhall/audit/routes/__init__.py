"""Audit HTTP: the log, for admins."""

from __future__ import annotations

from fastapi import APIRouter

from studyhall.audit.routes import entries

router = APIRouter(tags=["audit"])
router.include_router(entries.router)

__all__ = ["router"]
