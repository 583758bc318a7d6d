"""Accounts HTTP: one module per resource, assembled into the domain's ``router``."""

from fastapi import APIRouter

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

router = APIRouter(tags=["accounts"])
for module in (auth, passwords, me, profiles, consent, tutors, oauth_accounts, admin):
    router.include_router(module.router)

__all__ = ["router"]
