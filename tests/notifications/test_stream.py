"""Server-sent events over a real HTTP server: a notification committed by any connection is
pushed to its owner's open stream, and to no one else's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import uvicorn
from fastapi import FastAPI

from studyhall.app import create_app
from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.notifications.service import sending as service
from tests.live import sse_events
from tests.notifications.conftest import sign_up
from tests.notifications.servers import free_port


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            lifespan="off",
            log_level="warning",
            timeout_graceful_shutdown=2,
        )
    )
    task = asyncio.create_task(server.serve())
    for _ in range(500):  # uvicorn offers no event to wait on
        if server.started:
            break
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def test_new_notifications_are_pushed_to_their_owner_only(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    ana, ben = await sign_up(client, "Ana"), await sign_up(client, "Ben")
    async with db.transaction() as session:
        await service.notify(session, ana.id, "ai_artifact_ready", {"title": "Old summary"})
    app = create_app(settings, db)
    async with serving(app) as base_url, httpx.AsyncClient(base_url=base_url, timeout=10) as http:
        async with http.stream("GET", "/api/v1/notifications/stream", headers=ana.auth) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            events = sse_events(response)
            assert await asyncio.wait_for(anext(events), 10) == ("ready", {"unread": 1})
            # Written by other connections (as another domain's request or a worker would).
            async with db.transaction() as session:
                await service.notify(session, ben.id, "ai_artifact_ready", {"title": "Ben's"})
            async with db.transaction() as session:
                [pushed] = await service.notify(
                    session, ana.id, "ai_artifact_ready", {"title": "Chapter 3 flashcards"}
                )
            event, data = await asyncio.wait_for(anext(events), 10)
            assert (event, data["id"], data["title"]) == (
                "notification",
                str(pushed),
                "Ready: Chapter 3 flashcards",
            )
            assert data["status"] == "sent"
        hub = app.state.notification_hub
        for _ in range(100):  # the server notices the closed stream and lets go of LISTEN
            if hub.subscribers == 0:
                break
            await asyncio.sleep(0.05)
        assert hub.subscribers == 0


async def test_a_reconnecting_stream_gets_what_it_missed_since_its_last_event(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    ana = await sign_up(client, "Ana")
    ids = []
    for title in ("Seen", "Missed 1", "Missed 2"):
        async with db.transaction() as session:
            ids += await service.notify(session, ana.id, "ai_artifact_ready", {"title": title})
    app = create_app(settings, db)
    async with serving(app) as base_url, httpx.AsyncClient(base_url=base_url, timeout=10) as http:
        headers = {**ana.auth, "Last-Event-ID": str(ids[0])}
        async with http.stream("GET", "/api/v1/notifications/stream", headers=headers) as response:
            events = sse_events(response)
            received = [await asyncio.wait_for(anext(events), 10) for _ in range(3)]
    assert received[0] == ("ready", {"unread": 3})
    assert [(event, data["id"], data["title"]) for event, data in received[1:]] == [
        ("notification", str(ids[1]), "Ready: Missed 1"),
        ("notification", str(ids[2]), "Ready: Missed 2"),
    ]


async def test_the_stream_needs_a_signed_in_user(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/notifications/stream")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    bad = await client.get(
        "/api/v1/notifications/stream", headers={"Authorization": "Bearer not-a-token"}
    )
    assert (bad.status_code, bad.json()["code"]) == (401, "invalid_token")
