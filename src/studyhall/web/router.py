"""The web app: mounted at ``/`` beside the API (``/api/v1``), with its static files."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from studyhall.web import handlers
from studyhall.web.deps import csrf_protect, mark_page
from studyhall.web.pages import (
    account,
    accounts,
    admin,
    admin_audit,
    admin_catalogue,
    admin_credits,
    admin_payments,
    admin_payouts,
    admin_prices,
    admin_reviews,
    admin_webhooks,
    availability,
    broadcasts,
    consent,
    courses,
    google_calendar,
    guardian,
    notifications,
    payouts,
    privacy,
    progress,
    reviews,
    site,
    study,
    study_chat,
    teaching,
    tutoring,
)
from studyhall.web.sessions import PendingCookies

router = APIRouter(dependencies=[Depends(mark_page), Depends(csrf_protect)])
for module in (
    site,
    accounts,
    account,
    consent,
    tutoring,
    teaching,
    availability,
    notifications,
    reviews,
    google_calendar,
    payouts,
    progress,
    guardian,
    courses,
    study,
    study_chat,
    privacy,
    admin,
    broadcasts,
    admin_payments,
    admin_prices,
    admin_catalogue,
    admin_reviews,
    admin_payouts,
    admin_credits,
    admin_webhooks,
    admin_audit,
):
    router.include_router(module.router)

STATIC_DIR = Path(str(files("studyhall.web") / "static"))


def install(app: FastAPI) -> None:
    """Pages, static files, HTML error pages and the cookies pages decide on."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    handlers.install(app)
    app.add_middleware(PendingCookies)
