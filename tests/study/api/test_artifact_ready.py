"""A finished artifact tells its learner: an ``ai_artifact_ready`` notification in the app."""

from __future__ import annotations

import httpx

from tests.conftest import run_jobs
from tests.study.api.conftest import API, sign_up, upload
from tests.study.api.docs import PHOTOSYNTHESIS


async def test_a_completed_artifact_sends_ai_artifact_ready_once(
    client: httpx.AsyncClient,
) -> None:
    alice = await sign_up(client, "alice@example.com")
    material = await upload(client, alice, "bio.md", PHOTOSYNTHESIS.encode())
    created = await client.post(
        f"{API}/artifacts",
        headers=alice.headers,
        json={"type": "quiz", "material_id": material["id"], "max_items": 2},
    )
    assert created.status_code == 202, created.text
    await run_jobs()
    await run_jobs()
    inbox = (await client.get(f"{API}/notifications", headers=alice.headers)).json()["items"]
    ready = [n for n in inbox if n["type"] == "ai_artifact_ready"]
    assert len(ready) == 1
    assert (ready[0]["channel"], ready[0]["entity"], ready[0]["entity_id"]) == (
        "inapp",
        "ai_artifact",
        created.json()["id"],
    )
    assert ready[0]["title"] == "Ready: Quiz of bio.md"
    assert ready[0]["payload"]["url"] == f"/artifacts/{created.json()['id']}"
