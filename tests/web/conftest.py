"""Fixtures of the web app's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from studyhall.app import create_app
from studyhall.config import Settings
from studyhall.db.engine import Database


@pytest.fixture
async def client(settings: Settings, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    """Over https: outside development the session cookies are Secure, and a client keeps
    Secure cookies only for https addresses, as a browser does."""
    app = create_app(settings, db)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="https://test") as http:
        yield http
