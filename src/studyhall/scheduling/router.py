"""Scheduling HTTP: the sub-routers, mounted under /api/v1 by the app."""

from __future__ import annotations

from fastapi import APIRouter

from studyhall.scheduling.routes import bookings, catalog, google, learners, reviews

router = APIRouter()
router.include_router(catalog.router)
router.include_router(bookings.router)
router.include_router(reviews.router)
router.include_router(learners.router)
router.include_router(google.router)
