"""One structured access log line per request, and the request series of ``/metrics``.

The line names the route *template* (``/api/v1/materials/{material_id}``), never the concrete
path or its query string: paths and queries can carry e-mail addresses, search text or tokens.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from studyhall.kit.metrics import HTTP_DURATION, HTTP_REQUESTS

log = logging.getLogger("studyhall.access")

UNMATCHED_ROUTE = "<unmatched>"


def route_template(scope: Scope) -> str:
    """The full template of the route that answered, e.g. ``/api/v1/materials/{material_id}``.

    The matched route knows only its own part of the path (routers are included under
    prefixes), so the literal prefix is what precedes the part its pattern matches.
    """
    route = scope.get("route")
    template = getattr(route, "path_format", None)
    pattern = getattr(route, "path_regex", None)
    if not isinstance(template, str) or pattern is None:
        return UNMATCHED_ROUTE
    path: str = scope.get("path", "")
    for start, char in enumerate(path):
        if char == "/" and pattern.match(path[start:]):
            return path[:start] + template
    return template


class AccessLogMiddleware:
    """Runs inside the request id middleware, so the line carries the request's id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app raises before starting a response

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            _record(scope, status, time.perf_counter() - started)


def _record(scope: Scope, status: int, duration_s: float) -> None:
    method = str(scope.get("method", ""))
    route = route_template(scope)
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    HTTP_DURATION.labels(method, route).observe(duration_s)
    state = scope.get("state") or {}
    user_id = state.get("user_id")
    log.info(
        "request",
        extra={
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": round(duration_s * 1000, 2),
            "request_id": state.get("request_id"),
            "user_id": None if user_id is None else str(user_id),
        },
    )
