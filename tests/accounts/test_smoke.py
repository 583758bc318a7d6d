from __future__ import annotations

import httpx

from tests.accounts.conftest import sign_up


async def test_sign_up_and_me(client: httpx.AsyncClient) -> None:
    actor = await sign_up(client)
    response = await client.get("/api/v1/me", headers=actor.headers)
    assert response.status_code == 200
    assert response.json()["email"] == actor.email
    profile = await client.get("/api/v1/me/student-profile", headers=actor.headers)
    assert profile.status_code == 200, profile.text
