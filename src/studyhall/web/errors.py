"""How the web app says no: HTML pages and redirects, never problem+json.

A form that fails re-renders through ``FormInvalid``, an exception, so the request's transaction
rolls back (a failed sign-up or booking leaves nothing behind) before the page is drawn.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response


class WebError(Exception):
    """Raised by page code; rendered by ``studyhall.web.handlers``."""


class SignInRequired(WebError):
    pass


class ConsentRequired(WebError):
    pass


class CsrfRejected(WebError):
    pass


class FormInvalid(WebError):
    """Draw ``template`` again with ``context`` (which holds the errors) and ``status_code``."""

    def __init__(
        self,
        template: str,
        status_code: int = 422,
        headers: dict[str, str] | None = None,
        **context: Any,
    ) -> None:
        super().__init__(template)
        self.template = template
        self.status_code = status_code
        self.headers = headers or {}
        self.context = context


def sign_in_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/sign-in?next={quote(target, safe='')}", status_code=303)
