"""Scheduling HTTP: one module per resource, assembled into the domain's ``router`` (mounted
under /api/v1 by the app, every route under the one ``scheduling`` tag)."""

from __future__ import annotations

from fastapi import APIRouter

from studyhall.scheduling.routes import (
    availability,
    bookings,
    calendar_feeds,
    google,
    learners,
    offerings,
    reviews,
    slots,
)

router = APIRouter(tags=["scheduling"])
for module in (offerings, availability, slots, bookings, calendar_feeds, reviews, learners, google):
    router.include_router(module.router)
