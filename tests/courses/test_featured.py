"""Admins feature courses in the catalogue: audited, shown first on the catalogue page."""

from __future__ import annotations

import httpx

from studyhall.db.engine import Database
from tests.courses.helpers import count, make_admin, post, sign_up

API = "/api/v1"


async def test_an_admin_features_a_course_and_stops_featuring_it(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    tutor = await sign_up(client, "tutor")
    admin = await make_admin(client, owner_db)
    course = await post(client, f"{API}/courses", tutor, {"title": "Chem", "description": "Atoms"})
    assert course["featured_at"] is None
    path = f"{API}/courses/{course['id']}"
    refused = await client.post(f"{path}/feature", headers=tutor.headers)
    assert (refused.status_code, refused.json()["code"]) == (403, "role_required")

    for _ in range(2):  # featuring a featured course changes nothing
        featured = await client.post(f"{path}/feature", headers=admin.headers)
        assert featured.status_code == 200 and featured.json()["featured_at"] is not None
    listed = (await client.get(f"{API}/courses")).json()["items"]
    assert [c["featured_at"] is not None for c in listed if c["id"] == course["id"]] == [True]
    page = await client.get("/courses")
    assert 'id="featured"' in page.text and page.text.count(f"/courses/{course['id']}") == 2

    stopped = await client.post(f"{path}/unfeature", headers=admin.headers)
    assert stopped.status_code == 200 and stopped.json()["featured_at"] is None
    assert 'id="featured"' not in (await client.get("/courses")).text
    assert (
        await count(
            owner_db,
            "SELECT count(*) FROM audit_log WHERE entity = 'course' AND entity_id = :id "
            "AND action IN ('course.feature', 'course.unfeature')",
            id=course["id"],
        )
        == 2
    )
    missing = await client.post(
        f"{API}/courses/00000000-0000-0000-0000-000000000000/feature", headers=admin.headers
    )
    assert missing.status_code == 404
