"""Deprecated routes say so on every answer: ``Deprecation`` (RFC 9745) and ``Sunset`` (RFC 8594).

A route is marked once, where it is declared, and the OpenAPI document says the same
(``deprecated: true`` and ``x-sunset``)::

    @router.get("/old", **deprecated(since=date(2027, 1, 4), sunset=date(2027, 7, 1)))

``DeprecationHeadersMiddleware`` adds the headers to whatever the route answers, errors included,
so a client sees them even on the request that fails.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime
from email.utils import format_datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

SUNSET = "x-sunset"
DEPRECATED_SINCE = "x-deprecated-since"
SUCCESSOR = "x-successor"


def deprecated(*, since: date, sunset: date, successor: str | None = None) -> dict[str, Any]:
    """Route keyword arguments that mark it deprecated: since the UTC day ``since``, it stops
    working after the UTC day ``sunset``; ``successor`` is the path that replaces it."""
    if sunset <= since:
        raise ValueError(f"sunset {sunset} must come after the deprecation on {since}")
    extra: dict[str, Any] = {DEPRECATED_SINCE: since.isoformat(), SUNSET: sunset.isoformat()}
    if successor is not None:
        extra[SUCCESSOR] = successor
    return {"deprecated": True, "openapi_extra": extra}


def _http_date(day: date) -> str:
    return format_datetime(datetime(day.year, day.month, day.day, tzinfo=UTC), usegmt=True)


def _structured_date(day: date) -> str:
    # RFC 9745: "@" and the Unix time, a Structured Field Date.
    return f"@{calendar.timegm(day.timetuple())}"


def deprecation_headers(route: Any) -> list[tuple[bytes, bytes]]:
    """The headers a matched route's answers carry (none unless it is marked deprecated)."""
    if not getattr(route, "deprecated", False):
        return []
    extra: dict[str, Any] = getattr(route, "openapi_extra", None) or {}
    headers = []
    if DEPRECATED_SINCE in extra:
        since = date.fromisoformat(extra[DEPRECATED_SINCE])
        headers.append((b"deprecation", _structured_date(since).encode()))
    else:  # marked with FastAPI's bare ``deprecated=True``: deprecated, date unknown
        headers.append((b"deprecation", b"@0"))
    if SUNSET in extra:
        sunset = date.fromisoformat(extra[SUNSET])
        headers.append((b"sunset", _http_date(sunset).encode()))
    if SUCCESSOR in extra:
        headers.append((b"link", f'<{extra[SUCCESSOR]}>; rel="successor-version"'.encode()))
    return headers


class DeprecationHeadersMiddleware:
    """Reads the route the router matched (``scope["route"]``) when the answer starts."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                added = deprecation_headers(scope.get("route"))
                if added:
                    message["headers"] = [*message.get("headers", []), *added]
            await send(message)

        await self.app(scope, receive, send_with_headers)
