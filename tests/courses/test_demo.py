"""The demo catalogue loads, is idempotent and is browsable through the API."""

from __future__ import annotations

import httpx

from studyhall.config import Settings
from studyhall.courses import demo
from studyhall.db.engine import Database
from tests.courses.helpers import count, post, sign_up


async def test_demo_catalogue_is_idempotent_and_usable(
    client: httpx.AsyncClient, owner_db: Database, settings: Settings
) -> None:
    for expected in ("3 new courses", "0 new courses"):
        async with owner_db.transaction() as session:
            summary = await demo.load(session, settings)
        assert expected in summary[0]
    assert await count(owner_db, "SELECT count(*) FROM courses") == 3
    assert await count(owner_db, "SELECT count(*) FROM products") == 2
    assert await count(owner_db, "SELECT count(*) FROM lessons") == 10
    assert await count(owner_db, "SELECT count(*) FROM topics") == 5

    products = (await client.get("/api/v1/products")).json()["items"]
    assert sorted((p["name"], p["price_cents"]) for p in products) == [
        ("Math bundle", 4900),
        ("Mechanics primer (free)", 0),
    ]
    free = next(p for p in products if p["price_cents"] == 0)
    student = await sign_up(client)
    body = await post(client, f"/api/v1/products/{free['id']}/checkout", student, None)
    assert body["payment_required"] is False
    mine = (await client.get("/api/v1/me/courses", headers=student.headers)).json()["items"]
    assert [(c["title"], c["total_lessons"], c["percent"]) for c in mine] == [
        ("Mechanics primer", 3, 0.0)
    ]
