"""One request body limit, enforced while the body arrives: a 50 MB body is a quick 413."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import uvicorn

from studyhall.app import create_app
from studyhall.config import Settings
from studyhall.db.engine import Database
from tests.accounts.conftest import sign_up
from tests.foundation.openapi_walk import OpenApi

SIGN_IN = "/api/v1/auth/sign-in"
FIFTY_MB = 50 * 1024 * 1024
CHUNK = 64 * 1024


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def serving(settings: Settings, db: Database) -> AsyncIterator[int]:
    port = _free_port()
    config = uvicorn.Config(
        create_app(settings, db), host="127.0.0.1", port=port, lifespan="off", log_level="warning"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(500):  # uvicorn offers no event to wait on
        if server.started:
            break
        await asyncio.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        await task


def _parse(raw: bytes) -> tuple[int, dict[str, str], Any]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, json.loads(body) if body else None


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], Any]:
    raw = await asyncio.wait_for(reader.read(-1), timeout=10)  # the server closes after it
    return _parse(raw)


async def _declare_50_mb(port: int) -> tuple[int, dict[str, str], Any]:
    """Headers announcing 50 MB, and no body: the answer must not wait for it."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"POST {SIGN_IN} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        f"Content-Length: {FIFTY_MB}\r\n\r\n".encode()
    )
    await writer.drain()
    try:
        return await _read_response(reader)
    finally:
        writer.close()


async def _stream_chunks(port: int, chunks: int) -> tuple[int, dict[str, str], Any]:
    """A chunked body of a 50 MB upload whose first ``chunks`` pieces are sent, then a pause.

    The client stops after the pieces it sent and waits: had the server waited for the whole
    body, this would time out. (A client that kept writing would have its unread bytes make the
    server's close a TCP reset, which can discard the answer before the client reads it.)
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"POST {SIGN_IN} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n".encode()
    )
    piece = f"{CHUNK:x}\r\n".encode() + b" " * CHUNK + b"\r\n"
    for _ in range(chunks):
        writer.write(piece)
        await writer.drain()
    try:
        return await _read_response(reader)
    finally:
        writer.close()


async def test_a_50_mb_body_is_refused_with_413_before_it_is_read(
    settings: Settings, db: Database
) -> None:
    async with serving(settings, db) as port:
        started = time.monotonic()
        declared = await _declare_50_mb(port)
        just_past_the_limit = settings.max_request_bytes // CHUNK + 1
        streamed = await _stream_chunks(port, just_past_the_limit)
        elapsed = time.monotonic() - started
    for status, headers, body in (declared, streamed):
        assert status == 413, body
        assert headers["content-type"] == "application/problem+json"
        assert headers["connection"] == "close"
        assert "x-request-id" in headers
        assert body["code"] == "request_too_large"
        assert body["limit_bytes"] == settings.max_request_bytes
    assert elapsed < 5


async def test_the_limit_is_a_setting_and_bodies_under_it_are_read(
    client: httpx.AsyncClient, settings: Settings, db: Database
) -> None:
    under = {"email": "a@example.org", "password": "p" * (100 * 1024)}
    response = await client.post(SIGN_IN, json=under)
    assert response.status_code == 422  # read and validated: the password is too long
    settings.max_request_bytes = 64 * 1024
    app = create_app(settings, db)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as small:
        response = await small.post(SIGN_IN, json=under)
        assert response.status_code == 413
        assert response.json()["limit_bytes"] == 64 * 1024

        # An upload keeps its own, larger limit.
        student = await sign_up(small)
        text = b"# Notes\n\n" + b"Plants grow towards the light. " * 4000
        assert len(text) > settings.max_request_bytes
        uploaded = await small.post(
            "/api/v1/materials",
            files={"file": ("notes.txt", text, "text/plain")},
            headers=student.headers,
        )
        assert uploaded.status_code == 201, uploaded.text


def test_the_default_limit_holds_the_longest_text_field_fully_escaped() -> None:
    """A client may send every character as ``\\uXXXX``: six bytes for each."""
    openapi = OpenApi.of_app()
    longest = max(
        variant.get("maxLength", 0)
        for schema in openapi.components.values()
        for prop in schema.get("properties", {}).values()
        for variant in openapi.variants(prop)
    )
    assert longest >= 200_000
    assert Settings(_env_file=None).max_request_bytes > 6 * longest  # type: ignore[call-arg]
