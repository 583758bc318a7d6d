"""Exception handlers: pages get HTML (or a redirect to sign in), the API keeps problem+json."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from studyhall.kit.errors import (
    DomainError,
    domain_error_response,
    http_error_response,
    validation_error_response,
)
from studyhall.web.deps import WEB_PAGE, light_visit
from studyhall.web.errors import (
    ConsentRequired,
    CsrfRejected,
    FormInvalid,
    SignInRequired,
    WebError,
    sign_in_redirect,
)
from studyhall.web.messages import domain_message
from studyhall.web.rendering import render

# Paths that belong to the JSON side of the process.
_NOT_PAGES = ("/api/", "/healthz", "/readyz", "/openapi.json", "/static/")


def is_page(request: Request) -> bool:
    """A request a web page route took on; a path no route matched counts as one unless it
    belongs to the JSON side (a mistyped page address deserves a page)."""
    if getattr(request.state, WEB_PAGE, False):
        return True
    return not request.url.path.startswith(_NOT_PAGES) and request.scope.get("route") is None


async def _web_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, WebError)
    page = light_visit(request)
    if isinstance(exc, SignInRequired):
        return sign_in_redirect(request)
    if isinstance(exc, FormInvalid):
        response = render(page, exc.template, status_code=exc.status_code, **exc.context)
        response.headers.update(exc.headers)
        return response
    if isinstance(exc, ConsentRequired):
        return render(page, "consent_required.html", status_code=403)
    assert isinstance(exc, CsrfRejected)
    return render(
        page,
        "error.html",
        status_code=403,
        message=page.viewer.gettext(
            "This form has expired. Go back, reload the page and try again."
        ),
    )


async def _domain_error(request: Request, exc: Exception) -> Response:
    if not is_page(request):
        return await domain_error_response(request, exc)
    assert isinstance(exc, DomainError)
    page = light_visit(request)
    message = domain_message(page.viewer, exc)
    response = render(page, "error.html", status_code=exc.status, message=message)
    response.headers.update(exc.headers)
    return response


async def _http_error(request: Request, exc: Exception) -> Response:
    if not is_page(request):
        return await http_error_response(request, exc)
    assert isinstance(exc, StarletteHTTPException)
    page = light_visit(request)
    message = (
        page.viewer.gettext("There is no page at this address.")
        if exc.status_code == 404
        else page.viewer.gettext("This request could not be handled.")
    )
    return render(page, "error.html", status_code=exc.status_code, message=message)


async def _validation_error(request: Request, exc: Exception) -> Response:
    if not is_page(request):
        return await validation_error_response(request, exc)
    page = light_visit(request)
    message = page.viewer.gettext("This address is incomplete or damaged; check the link.")
    return render(page, "error.html", status_code=400, message=message)


def install(app: FastAPI) -> None:
    app.add_exception_handler(WebError, _web_error)
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
