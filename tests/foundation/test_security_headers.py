"""Security headers on every kind of response, and CORS only for the listed origins."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from studyhall.app import create_app
from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.kit.headers import DEFAULT_CSP
from tests.foundation.test_http import boom
from tests.live import live_server

ALLOWED = "https://app.example.com"


def _assert_secured(response: httpx.Response, *, hsts: bool = True) -> None:
    headers = response.headers
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert headers["x-frame-options"] == "DENY"
    assert ("strict-transport-security" in headers) is hsts


async def _client(settings: Settings, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, db)
    app.include_router(boom)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        yield http


@pytest.fixture
async def http(settings: Settings, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(settings, db):
        yield client


async def test_api_error_and_docs_responses_carry_the_headers(
    settings: Settings, database_urls: Any
) -> None:
    with live_server(settings, database_urls.app) as base_url:
        async with httpx.AsyncClient(base_url=base_url) as client:
            api = await client.get("/healthz")
            missing = await client.get("/api/v1/no-such-thing")
            invalid = await client.post("/api/v1/auth/sign-up", json={})
            docs = await client.get("/docs")
            spec = await client.get("/openapi.json")
    assert (api.status_code, missing.status_code, invalid.status_code) == (200, 404, 422)
    for response in (api, missing, invalid, docs, spec):
        _assert_secured(response)
    assert api.headers["content-security-policy"] == DEFAULT_CSP
    assert "script-src 'self';" in api.headers["content-security-policy"]
    # Only the docs page may run its inline start-up script.
    assert docs.status_code == 200
    assert "'unsafe-inline'" in docs.headers["content-security-policy"]
    assert "'unsafe-inline'" not in spec.headers["content-security-policy"]


async def test_an_unexpected_500_and_a_413_carry_the_headers(
    settings: Settings, db: Database
) -> None:
    async for http in _client(settings, db):
        crashed = await http.get("/test/boom")
        too_big = await http.post(
            "/api/v1/auth/sign-up",
            content=b"x" * (settings.max_request_bytes + 1),
            headers={"content-type": "application/json"},
        )
    assert (crashed.status_code, too_big.status_code) == (500, 413)
    _assert_secured(crashed)
    _assert_secured(too_big)


async def test_no_hsts_in_development_and_the_csp_is_a_setting(
    settings: Settings, db: Database
) -> None:
    development = settings.model_copy(
        update={"environment": "development", "csp": "default-src 'self' https://cdn.example"}
    )
    async for http in _client(development, db):
        response = await http.get("/healthz")
    assert response.headers["content-security-policy"] == "default-src 'self' https://cdn.example"
    assert "strict-transport-security" not in response.headers


async def test_cors_is_off_by_default(http: httpx.AsyncClient, settings: Settings) -> None:
    assert settings.cors_origins == []
    preflight = await http.options(
        "/api/v1/me",
        headers={"Origin": ALLOWED, "Access-Control-Request-Method": "GET"},
    )
    simple = await http.get("/healthz", headers={"Origin": ALLOWED})
    assert "access-control-allow-origin" not in preflight.headers
    assert "access-control-allow-origin" not in simple.headers


async def test_cors_answers_only_the_listed_origins(settings: Settings, db: Database) -> None:
    listed = settings.model_copy(update={"cors_origins": [ALLOWED]})
    async for http in _client(listed, db):
        allowed = await http.options(
            "/api/v1/me",
            headers={
                "Origin": ALLOWED,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        other = await http.options(
            "/api/v1/me",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
        )
        simple = await http.get("/healthz", headers={"Origin": ALLOWED})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ALLOWED
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    assert other.status_code == 400
    assert "access-control-allow-origin" not in other.headers
    assert simple.headers["access-control-allow-origin"] == ALLOWED
    _assert_secured(simple)


def test_a_wildcard_or_malformed_origin_is_refused(settings: Settings) -> None:
    for origin in ("*", "app.example.com", "https://app.example.com/"):
        with pytest.raises(ValueError, match="CORS origin"):
            Settings(_env_file=None, cors_origins=[origin])  # type: ignore[call-arg]
