"""One Jinja2 environment for every page; each render gets the viewer's language and zone."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from studyhall.accounts.models import User
from studyhall.web.i18n import LANGUAGE_NAMES, LANGUAGES, Viewer
from studyhall.web.sessions import CSRF_FIELD


@dataclass
class Visit:
    """What a page knows about who is looking: the signed-in user (if any), how they read, and
    the CSRF token their forms must carry."""

    request: Request
    user: User | None
    viewer: Viewer
    csrf: str


@lru_cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("studyhall.web", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["LANGUAGES"] = LANGUAGES
    env.globals["LANGUAGE_NAMES"] = LANGUAGE_NAMES
    env.globals["CSRF_FIELD"] = CSRF_FIELD
    return env


def render(visit: Visit, template: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    viewer = visit.viewer
    html = (
        environment()
        .get_template(template)
        .render(
            visit=visit,
            request=visit.request,
            user=visit.user,
            viewer=viewer,
            csrf=visit.csrf,
            _=viewer.gettext,
            ngettext=viewer.ngettext,
            **context,
        )
    )
    return HTMLResponse(html, status_code=status_code)
