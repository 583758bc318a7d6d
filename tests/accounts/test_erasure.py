from __future__ import annotations

import httpx
from sqlalchemy import text

from studyhall.accounts.service import erase_personal_data
from studyhall.db.engine import Database


async def _sign_up(client: httpx.AsyncClient, email: str) -> str:
    response = await client.post(
        "/api/v1/auth/sign-up",
        json={"email": email, "password": "a fine passphrase", "name": "Ada Lovelace"},
    )
    assert response.status_code == 201
    return str(response.json()["access_token"])


async def test_deleted_accounts_lose_personal_data_after_the_grace_period(
    client: httpx.AsyncClient, db: Database, owner_db: Database
) -> None:
    gone = await _sign_up(client, "gone@example.org")
    await _sign_up(client, "stays@example.org")
    deleted = await client.delete("/api/v1/me", headers={"Authorization": f"Bearer {gone}"})
    assert deleted.status_code == 204
    async with db.transaction() as session:
        assert await erase_personal_data(session, after_days=30) == 0
    async with owner_db.transaction() as session:
        await session.execute(
            text(
                "UPDATE users SET deleted_at = now() - interval '31 days' "
                "WHERE deleted_at IS NOT NULL"
            )
        )
    async with db.transaction() as session:
        assert await erase_personal_data(session, after_days=30) == 1
        assert await erase_personal_data(session, after_days=30) == 0
    async with owner_db.transaction() as session:
        rows = (
            await session.execute(
                text("SELECT email, name, phone, password_hash, status FROM users ORDER BY email")
            )
        ).all()
    assert rows[1] == ("stays@example.org", "Ada Lovelace", None, rows[1][3], "active")
    erased_email, name, phone, password_hash, status = rows[0]
    assert erased_email.startswith("erased-") and erased_email.endswith("@erased.invalid")
    assert (name, phone, password_hash, status) == ("Erased user", None, "!", "deleted")
