"""Accounts HTTP: one module per resource, assembled into the domain's ``router``."""

from fastapi import APIRouter
from fastapi.routing import APIRoute

from studyhall.accounts.routes import (
    admin,
    auth,
    consent,
    me,
    oauth_accounts,
    passwords,
    profiles,
    tutors,
)


def _operation_id(route: APIRoute) -> str:
    # The route function's name, ``<resource>_<verb>``, is its operationId.
    return route.name


router = APIRouter(tags=["accounts"], generate_unique_id_function=_operation_id)
for module in (auth, passwords, me, profiles, consent, tutors, oauth_accounts, admin):
    router.include_router(module.router)

__all__ = ["router"]
