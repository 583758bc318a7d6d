from __future__ import annotations

import httpx

from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.notifications import demo
from tests.notifications.conftest import rows, sign_up


async def test_the_demo_welcomes_each_user_once(
    client: httpx.AsyncClient, owner_db: Database, settings: Settings
) -> None:
    ana, ben = await sign_up(client, "Ana"), await sign_up(client, "Ben")
    async with owner_db.transaction() as session:
        first = await demo.load(session, settings)
    async with owner_db.transaction() as session:
        second = await demo.load(session, settings)
    assert first == ["notifications: 2 welcome notifications (2 users)"]
    assert second == ["notifications: 0 welcome notifications (2 users)"]
    assert sorted(await rows(owner_db, "SELECT user_id, status FROM notifications")) == sorted(
        [(ana.id, "sent"), (ben.id, "sent")]
    )


async def test_the_openapi_document_lists_the_notification_routes(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    paths = {path for path in response.json()["paths"] if "notifications" in path}
    assert paths == {
        "/api/v1/notifications",
        "/api/v1/notifications/unread-count",
        "/api/v1/notifications/read-all",
        "/api/v1/notifications/preferences",
        "/api/v1/notifications/quiet-hours",
        "/api/v1/notifications/unsubscribe",
        "/api/v1/notifications/{notification_id}/read",
        "/api/v1/notifications/{notification_id}",
        "/api/v1/notifications/stream",
        "/api/v1/admin/notifications/broadcast",
        "/api/v1/admin/notifications/broadcasts",
        "/api/v1/admin/notifications/broadcasts/{broadcast_id}",
        "/api/v1/admin/notifications",
        "/api/v1/admin/notifications/{notification_id}/retry",
    }
