"""The signed-in user's own account settings: name, time zone and the language pages use.

Name and zone go through ``accounts.service.update_me``, as ``PATCH /api/v1/me`` does; the
language is the browser's choice (the same cookie as the footer switch), not an account field.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from studyhall.accounts import service
from studyhall.accounts.schemas import UserUpdate
from studyhall.db.deps import Session
from studyhall.kit.errors import DomainError
from studyhall.web.deps import AccountPage
from studyhall.web.errors import FormInvalid
from studyhall.web.i18n import LANGUAGE_COOKIE, LANGUAGES
from studyhall.web.messages import FIELD_FALLBACK, FIELD_PROBLEMS, domain_message, notice
from studyhall.web.pages.site import ONE_YEAR_S
from studyhall.web.rendering import render
from studyhall.web.sessions import queue_cookie

router = APIRouter()

Notice = Annotated[str | None, Query(alias="notice", max_length=40)]


@router.get("/account", include_in_schema=False)
async def account_page(page: AccountPage, notice_key: Notice = None) -> Response:
    assert page.user is not None
    values = {
        "name": page.user.name,
        "timezone": page.user.timezone,
        "language": page.viewer.language,
    }
    return render(
        page, "account.html", values=values, errors={}, notice=notice(page.viewer, notice_key)
    )


@router.post("/account", include_in_schema=False)
async def save_account(request: Request, page: AccountPage, session: Session) -> Response:
    assert page.user is not None
    form = await request.form()
    values = {
        key: value.strip() if isinstance(value := form.get(key), str) else ""
        for key in ("name", "timezone", "language")
    }
    try:
        data = UserUpdate(name=values["name"], timezone=values["timezone"])
        await service.update_me(session, page.user, data)
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else ""
            errors.setdefault(field, page.viewer.gettext(FIELD_PROBLEMS.get(field, FIELD_FALLBACK)))
        raise FormInvalid("account.html", values=values, errors=errors, notice=None) from exc
    except DomainError as exc:
        field = str(exc.extra.get("field", "timezone"))
        errors = {field: domain_message(page.viewer, exc)}
        raise FormInvalid(
            "account.html", status_code=exc.status, values=values, errors=errors, notice=None
        ) from exc
    if values["language"] in LANGUAGES:
        queue_cookie(request, LANGUAGE_COOKIE, values["language"], ONE_YEAR_S)
    return RedirectResponse("/account?notice=account_saved", status_code=303)
