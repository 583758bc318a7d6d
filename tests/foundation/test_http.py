from __future__ import annotations

import asyncio
import contextlib
import logging

import httpx
import pytest
from fastapi import APIRouter
from sqlalchemy import text

from studyhall.app import create_app
from studyhall.bootstrap import DatabaseUrls
from studyhall.config import Settings
from studyhall.db.deps import Session
from studyhall.db.engine import Database
from studyhall.jobs import core as jobs

boom = APIRouter()


@boom.get("/test/boom")
async def explode() -> None:
    raise RuntimeError("secret internals")


slow = APIRouter()


@slow.get("/test/slow")
async def sleep_in_the_database(session: Session) -> None:
    await session.execute(text("SELECT pg_sleep(3)"))


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_readyz_wants_a_worker_heartbeat(client: httpx.AsyncClient, db: Database) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["checks"] == {
        "database": "ok",
        "migrations": "ok",
        "worker": "no recent heartbeat",
    }
    worker = asyncio.create_task(jobs.run_worker(concurrency=1, periodic=False))
    try:
        for _ in range(100):
            response = await client.get("/readyz")
            if response.status_code == 200:
                break
            await asyncio.sleep(0.05)
    finally:
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "migrations": "ok", "worker": "ok"},
    }


async def test_request_id_is_honoured_and_echoed(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": "req-42"})
    assert response.headers["x-request-id"] == "req-42"
    generated = await client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert generated.headers["x-request-id"] != "bad id with spaces"
    assert len(generated.headers["x-request-id"]) == 32


async def test_unknown_route_is_a_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "route_not_found"
    assert body["detail"] == "No route matches GET /api/v1/nothing-here."


async def test_validation_errors_list_the_fields(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/sign-up", json={"email": "not-an-email", "password": 5, "extra": True}
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_failed"
    fields = sorted((error["in"], error["field"]) for error in body["errors"])
    assert fields == [("body", "email"), ("body", "extra"), ("body", "name"), ("body", "password")]
    assert "field" not in body  # several fields: only errors[] names them


async def test_unexpected_errors_are_500_without_internals(
    settings: Settings, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(settings, db)
    app.include_router(boom)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    with caplog.at_level(logging.ERROR, logger="studyhall.errors"):
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            response = await http.get("/test/boom", headers={"X-Request-ID": "trace-me"})
    assert response.status_code == 500
    body = response.json()
    assert body["code"] == "internal_error"
    assert body["request_id"] == "trace-me"
    assert "secret internals" not in response.text
    [record] = [r for r in caplog.records if r.name == "studyhall.errors"]
    assert record.request_id == "trace-me"  # type: ignore[attr-defined]
    assert "secret internals" in caplog.text


async def test_openapi_is_served(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert spec["openapi"].startswith("3.1")
    assert "/api/v1/auth/sign-in" in spec["paths"]
    assert (await client.get("/docs")).status_code == 200


async def test_every_operation_declares_its_errors_as_problems(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    problem = {"$ref": "#/components/schemas/Problem"}
    validation = {"$ref": "#/components/schemas/ValidationProblem"}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            for status in ("4XX", "5XX"):
                assert responses[status]["content"] == {
                    "application/problem+json": {"schema": problem}
                }, (method, path, status)
            if "422" in responses:
                assert responses["422"]["content"] == {
                    "application/problem+json": {"schema": validation}
                }, (method, path)
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert set(schemas["Problem"]["required"]) == {
        "type",
        "title",
        "status",
        "detail",
        "code",
        "instance",
    }
    assert schemas["ValidationProblem"]["properties"]["errors"]["items"] == {
        "$ref": "#/components/schemas/FieldProblem"
    }


async def test_a_database_that_cannot_answer_is_a_503_to_retry(
    settings: Settings, db: Database
) -> None:
    # The app's pool points at a socket nobody listens on: what a request meets while the
    # database restarts.
    gone = Database.connect(
        "postgresql://studyhall_app@/studyhall?host=/nonexistent-socket-dir", settings
    )
    app = create_app(settings, gone)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            response = await http.get("/api/v1/subjects")
            ready = await http.get("/readyz")
    finally:
        await gone.dispose()
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "5"
    assert response.json()["code"] == "database_unavailable"
    assert "not running" in response.json()["detail"]
    assert ready.status_code == 503
    assert ready.json()["checks"] == {"database": "unreachable: the database server is not running"}
    assert ready.headers["retry-after"] == "5"


async def test_a_statement_timeout_is_a_503_to_retry(
    settings: Settings, db: Database, database_urls: DatabaseUrls
) -> None:
    impatient = Database.connect(
        database_urls.app, settings.model_copy(update={"db_statement_timeout_s": 1})
    )
    app = create_app(settings, impatient)
    app.include_router(slow)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            response = await http.get("/test/slow")
    finally:
        await impatient.dispose()
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert "timed out" in response.json()["detail"]
