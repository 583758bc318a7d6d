"""Notifications HTTP: one module per resource, assembled into the domain's ``router``."""

from fastapi import APIRouter
from fastapi.routing import APIRoute

from studyhall.notifications.routes import admin, inbox, preferences, unsubscribe


def _operation_id(route: APIRoute) -> str:
    # The route function's name, ``<resource>_<verb>``, is its operationId.
    return route.name


router = APIRouter(tags=["notifications"], generate_unique_id_function=_operation_id)
# Fixed paths before ``/notifications/{notification_id}``-style ones of the inbox.
for module in (preferences, unsubscribe, inbox, admin):
    router.include_router(module.router)

__all__ = ["router"]
