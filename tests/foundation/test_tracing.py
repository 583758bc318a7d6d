"""OpenTelemetry tracing over a real server: a request's ``traceparent`` is continued by a
server span named after the route template, and no span carries the query or the client."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from studyhall.bootstrap import DatabaseUrls
from studyhall.config import Settings
from studyhall.db.engine import Database
from tests.live import live_server

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
MARKER = "query-marker-7d1e"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """The process's SDK tracer provider (set once: OpenTelemetry refuses to replace it), with
    an in-memory exporter for this test."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    exporter.shutdown()


def _server_spans(exporter: InMemorySpanExporter) -> list[trace.Span]:
    return [s for s in exporter.get_finished_spans() if s.kind is SpanKind.SERVER]  # type: ignore[misc]


async def test_a_traceparent_is_continued_by_a_server_span(
    spans: InMemorySpanExporter, settings: Settings, database_urls: DatabaseUrls, db: Database
) -> None:
    traced = settings.model_copy(update={"otel_enabled": True})
    thread = uuid.uuid4()
    with live_server(traced, database_urls.app) as base_url:
        async with httpx.AsyncClient(base_url=base_url) as http:
            answered = await http.get(
                f"/api/v1/chat/threads/{thread}/messages",
                params={"q": MARKER},
                headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"},
            )
            assert answered.status_code == 401
            untraced = await http.get("/healthz")
            assert untraced.status_code == 200
    [continued, fresh] = _server_spans(spans)
    assert continued.name == "GET /api/v1/chat/threads/{thread_id}/messages"
    assert format(continued.context.trace_id, "032x") == TRACE_ID
    assert continued.parent is not None and continued.parent.is_remote
    assert format(continued.parent.span_id, "016x") == PARENT_ID
    attributes = dict(continued.attributes or {})
    assert attributes["http.route"] == "/api/v1/chat/threads/{thread_id}/messages"
    assert not [v for v in attributes.values() if MARKER in str(v) or str(v) == "127.0.0.1"]
    # Without a traceparent, a new trace starts.
    assert fresh.name == "GET /healthz"
    assert fresh.parent is None
    assert fresh.context.trace_id != continued.context.trace_id


def test_tracing_is_off_by_default() -> None:
    assert Settings(_env_file=None).otel_enabled is False  # type: ignore[call-arg]
