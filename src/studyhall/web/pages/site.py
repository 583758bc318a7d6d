"""The landing page, the language switch and the API's documentation, served offline."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.responses import HTMLResponse, RedirectResponse, Response

from studyhall.web.deps import Page
from studyhall.web.i18n import LANGUAGE_COOKIE, LANGUAGES
from studyhall.web.pages.accounts import safe_next
from studyhall.web.rendering import render
from studyhall.web.sessions import queue_cookie

router = APIRouter()

ONE_YEAR_S = 365 * 24 * 3600
SWAGGER = "/static/vendor/swagger-ui"


@router.get("/", summary="Landing page (public)", include_in_schema=False)
async def landing(page: Page) -> Response:
    return render(page, "landing.html")


@router.post("/language", include_in_schema=False)
async def choose_language(request: Request, page: Page) -> Response:
    form = await request.form()
    language = form.get("language")
    if isinstance(language, str) and language in LANGUAGES:
        queue_cookie(request, LANGUAGE_COOKIE, language, ONE_YEAR_S)
    back = form.get("next")
    return RedirectResponse(safe_next(back if isinstance(back, str) else "/"), status_code=303)


@router.get("/docs", summary="Interactive API documentation (public)", include_in_schema=False)
async def api_docs() -> HTMLResponse:
    # The stock page loads Swagger UI from a CDN; these copies ship inside the package.
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="Studyhall API",
        swagger_js_url=f"{SWAGGER}/swagger-ui-bundle.js",
        swagger_css_url=f"{SWAGGER}/swagger-ui.css",
        swagger_favicon_url=f"{SWAGGER}/favicon-32x32.png",
    )
