"""One Jinja2 environment for every page; each render gets the viewer's language and zone."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from studyhall.accounts.models import User
from studyhall.web.i18n import LANGUAGE_NAMES, LANGUAGES, Viewer
from studyhall.web.richtext import markdown, markdown_inline
from studyhall.web.sessions import CSRF_FIELD


def _part(citation: Any, name: str) -> Any:
    """A citation is a dict in stored JSON and an object in some answers."""
    return citation.get(name) if isinstance(citation, Mapping) else getattr(citation, name, None)


def citation_href(citation: Any) -> str:
    """Where a citation opens: the cited file, at its page when it has one (PDF viewers open
    ``#page=N``)."""
    page = _part(citation, "page")
    anchor = f"#page={page}" if page else ""
    return f"/study/materials/{_part(citation, 'material_id')}/file{anchor}"


def citation_sources(citations: list[Any]) -> dict[int, str]:
    """An answer's markers, each to the address of what it cites."""
    return {
        int(marker): citation_href(c)
        for c in citations
        if (marker := _part(c, "marker")) is not None
    }


@dataclass(frozen=True)
class ShownUser:
    """What the templates show of the signed-in user, copied when the request starts: a page
    drawn after its transaction rolled back (a refused form, an error) must not reload the row."""

    id: uuid.UUID
    name: str
    email: str
    role: str
    timezone: str
    is_verified: bool
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> ShownUser:
        return cls(
            id=user.id,
            name=user.name,
            email=user.email,
            role=user.role,
            timezone=user.timezone,
            is_verified=user.is_verified,
            created_at=user.created_at,
        )


@dataclass
class Visit:
    """What a page knows about who is looking: the signed-in user (if any), how they read, and
    the CSRF token their forms must carry."""

    request: Request
    user: User | None
    viewer: Viewer
    csrf: str
    shown: ShownUser | None = field(init=False)

    def __post_init__(self) -> None:
        self.shown = None if self.user is None else ShownUser.of(self.user)


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
    env.filters["markdown"] = markdown
    env.filters["markdown_inline"] = markdown_inline
    env.globals["citation_href"] = citation_href
    env.globals["citation_sources"] = citation_sources
    return env


def render_fragment(visit: Visit, template: str, **context: Any) -> str:
    """A template drawn as text: a whole page, or a piece a script puts into one."""
    viewer = visit.viewer
    return (
        environment()
        .get_template(template)
        .render(
            visit=visit,
            request=visit.request,
            user=visit.shown,
            viewer=viewer,
            csrf=visit.csrf,
            _=viewer.gettext,
            ngettext=viewer.ngettext,
            **context,
        )
    )


def continue_to_payment(visit: Visit, checkout_url: str, what: str, back_url: str) -> HTMLResponse:
    """A page with a link to the provider's hosted checkout (Stripe Checkout, Paymob), where a
    redirect would do elsewhere: the pages' CSP lets a form lead to this site only (``form-action
    'self'`` covers where its answer redirects, and Chromium enforces that), while following a
    link is not restricted. The provider sends the buyer back when they have paid."""
    host = urlsplit(checkout_url).hostname or checkout_url
    return render(
        visit,
        "payment_continue.html",
        checkout_url=checkout_url,
        host=host,
        what=what,
        back_url=back_url,
    )


def render(visit: Visit, template: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(render_fragment(visit, template, **context), status_code=status_code)
