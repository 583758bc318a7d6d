"""Fixtures of the web app's tests."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from playwright.async_api import Browser, Page

from studyhall.app import create_app
from studyhall.config import Settings
from studyhall.db.engine import Database
from tests.pg import PgServer
from tests.web.browser import WebServer, launch, serve

CONSENT_AGE_EG = 16


@pytest.fixture
async def client(settings: Settings, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    """Over https: outside development the session cookies are Secure, and a client keeps
    Secure cookies only for https addresses, as a browser does."""
    app = create_app(settings, db)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="https://test") as http:
        yield http


@pytest.fixture(scope="session")
def web_server(
    pg_server: PgServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WebServer]:
    yield from serve(pg_server, tmp_path_factory.mktemp("web-home"), _web_settings)


def _web_settings(base_url: str) -> dict[str, str]:
    """One country whose consent age differs from the default (13), so the sign-up form's
    country visibly matters."""
    return {"STUDYHALL_GUARDIAN_CONSENT_AGE_BY_COUNTRY": json.dumps({"EG": CONSENT_AGE_EG})}


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async for launched in launch():
        yield launched


@pytest.fixture
async def page(browser: Browser, web_server: WebServer) -> AsyncIterator[Page]:
    """A fresh browser context (no cookies) on a laptop-sized screen, English first."""
    context = await browser.new_context(
        base_url=web_server.base_url,
        viewport={"width": 1280, "height": 800},
        locale="en-GB",
        timezone_id="Africa/Cairo",
    )
    context.set_default_timeout(10_000)
    page = await context.new_page()
    yield page
    await context.close()
