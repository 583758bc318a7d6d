"""OpenTelemetry tracing, an optional extra (``pip install studyhall[otel]``).

With ``STUDYHALL_OTEL_ENABLED=true`` every HTTP request gets a server span that continues the
trace of an incoming W3C ``traceparent`` header (OpenTelemetry's ASGI instrumentation). The span
is named after the route template (``GET /api/v1/materials/{material_id}``), like the access
line, and carries neither the query string nor the client's address: both may identify a
person or carry a secret (a download token). Spans go to whatever tracer provider the process
has; without one, an SDK provider exporting over OTLP/HTTP is set up, configured by the standard
``OTEL_EXPORTER_OTLP_*`` variables.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from studyhall.config import Settings
from studyhall.kit.access import route_template

_INSTALLED = all(
    importlib.util.find_spec(name) is not None
    for name in ("opentelemetry.sdk", "opentelemetry.instrumentation.asgi")
)
if _INSTALLED:
    from opentelemetry import trace
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

_OTLP = importlib.util.find_spec("opentelemetry.exporter.otlp.proto.http") is not None
if _OTLP:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

# Attributes the instrumentation fills from the query string or the client's socket.
_PATH_ONLY = ("http.target", "url.path")
_WITHOUT_QUERY = ("http.url", "url.full")
_DROPPED = ("url.query", "net.peer.ip", "net.peer.port", "client.address", "client.port")


class TracingUnavailable(RuntimeError):
    pass


def _method_only(scope: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The span's first name: the concrete path is not known to be free of personal data; the
    route template replaces it once routing has matched (``_NameByRoute``)."""
    return str(scope.get("method") or "HTTP"), {}


def _scrub(span: Any, scope: dict[str, Any]) -> None:
    """Overwrite what the instrumentation recorded from the query string and the client."""
    if not span.is_recording():
        return
    recorded = getattr(span, "attributes", None) or {}
    path = str(scope.get("path", ""))
    for name in _PATH_ONLY:
        if name in recorded:
            span.set_attribute(name, path)
    for name in _WITHOUT_QUERY:
        if name in recorded:
            span.set_attribute(name, str(recorded[name]).split("?", 1)[0])
    for name in _DROPPED:
        if name in recorded:
            span.set_attribute(name, "")


class _NameByRoute:
    """Inside the server span: when the answer starts (routing has matched by then, and the
    instrumentation ends the span with the answer's last byte), name the span after the route."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        span = trace.get_current_span()

        async def name_then_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                route = route_template(scope)
                span.update_name(f"{scope.get('method', 'HTTP')} {route}")
                span.set_attribute("http.route", route)
            await send(message)

        await self.app(scope, receive, name_then_send)


def _ensure_provider(settings: Settings) -> None:
    """An SDK provider exporting over OTLP, unless the process already has one (set by
    ``opentelemetry-instrument``, or by whoever embeds the app)."""
    if isinstance(trace.get_tracer_provider(), TracerProvider):
        return
    provider = TracerProvider(
        resource=Resource.create({"service.name": settings.otel_service_name})
    )
    if _OTLP:
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)


def install(app: FastAPI, settings: Settings) -> None:
    """Put a server span around every request (outermost middleware: call it after every other
    ``add_middleware``), when tracing is on."""
    if not settings.otel_enabled:
        return
    if not _INSTALLED:
        raise TracingUnavailable(
            "STUDYHALL_OTEL_ENABLED=true needs the otel extra: pip install 'studyhall[otel]'"
        )
    _ensure_provider(settings)
    app.add_middleware(_NameByRoute)
    app.add_middleware(
        OpenTelemetryMiddleware,
        default_span_details=_method_only,
        server_request_hook=_scrub,
        exclude_spans=["receive", "send"],
    )
