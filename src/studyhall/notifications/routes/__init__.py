"""Notifications HTTP: one module per resource, assembled into the domain's ``router``."""

from fastapi import APIRouter

from studyhall.notifications.routes import admin, inbox, preferences, unsubscribe

router = APIRouter(tags=["notifications"])
# Fixed paths before ``/notifications/{notification_id}``-style ones of the inbox.
for module in (preferences, unsubscribe, inbox, admin):
    router.include_router(module.router)

__all__ = ["router"]
