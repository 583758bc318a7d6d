"""Security headers on every response, whatever route or error produced it."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The web app and its assets are served by this process: scripts, styles, images and fonts come
# from 'self' only; no inline script; nothing may frame the pages.
DEFAULT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# The interactive API docs page starts Swagger UI (served from the package) with an inline
# script; only that page gets this looser policy.
DEFAULT_DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "frame-ancestors 'none'"
)
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})
HSTS = "max-age=63072000; includeSubDomains"


def security_headers(csp: str, hsts: bool) -> list[tuple[str, str]]:
    headers = [
        ("content-security-policy", csp),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "strict-origin-when-cross-origin"),
        ("x-frame-options", "DENY"),
        ("cross-origin-opener-policy", "same-origin"),
    ]
    if hsts:
        headers.append(("strict-transport-security", HSTS))
    return headers


class SecurityHeadersMiddleware:
    """Adds each header the response did not set itself (a page may tighten its own CSP)."""

    def __init__(
        self,
        app: ASGIApp,
        headers: Sequence[tuple[str, str]],
        docs_headers: Sequence[tuple[str, str]],
    ) -> None:
        self.app = app
        self.headers = tuple(headers)
        self.docs_headers = tuple(docs_headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = self.docs_headers if scope.get("path") in DOCS_PATHS else self.headers

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                for name, value in headers:
                    if name not in response_headers:
                        response_headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
