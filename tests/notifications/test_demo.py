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
