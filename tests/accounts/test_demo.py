from __future__ import annotations

import httpx

from studyhall.accounts import demo
from studyhall.config import Settings
from studyhall.db.engine import Database
from tests.accounts.conftest import owner_rows


async def test_demo_accounts_load_twice_and_sign_in(
    client: httpx.AsyncClient, owner_db: Database, settings: Settings
) -> None:
    for expected in (5, 0):
        async with owner_db.transaction() as session:
            summary = await demo.load(session, settings)
        assert summary[0].startswith(f"accounts: {expected} new of 5")
    assert await owner_rows(
        owner_db, "SELECT role, count(*) FROM users GROUP BY role ORDER BY 1"
    ) == [("admin", 1), ("student", 2), ("tutor", 2)]
    tutors = (await client.get("/api/v1/tutors")).json()["items"]
    # Ratings come from the reviews the scheduling demo writes; without them the two tie.
    assert sorted(t["name"] for t in tutors) == ["Kenji Tutor", "Tara Tutor"]
    signed_in = await client.post(
        "/api/v1/auth/sign-in",
        json={"email": "admin@demo.example.com", "password": demo.DEMO_PASSWORD},
    )
    assert signed_in.status_code == 200
