"""Browsing subject → topic → lessons, and concurrent admin writes."""

from __future__ import annotations

import asyncio

import httpx

from studyhall.db.engine import Database
from tests.courses.helpers import count, course_tree, make_admin, post, product, sign_up

API = "/api/v1"


async def test_topic_lists_only_published_lessons(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    subject = await post(client, f"{API}/subjects", admin, {"name": "Physics"})
    topic = await post(client, f"{API}/subjects/{subject['id']}/topics", admin, {"name": "Optics"})
    tree = await course_tree(client, admin, lessons=0)
    section = tree["sections"][0]
    for title, status in (("Mirrors", "public"), ("Lenses", "preview"), ("Draft", "private")):
        await post(
            client,
            f"{API}/sections/{section}/lessons",
            admin,
            {"title": title, "status": status, "topic_id": topic["id"]},
        )
    listed = (await client.get(f"{API}/topics/{topic['id']}/lessons")).json()["items"]
    assert [lesson["title"] for lesson in listed] == ["Mirrors", "Lenses"]
    topics = (await client.get(f"{API}/subjects/{subject['id']}/topics")).json()["items"]
    assert [(t["name"], t["difficulty_level"]) for t in topics] == [("Optics", None)]
    missing = await client.get(f"{API}/topics/{subject['id']}/lessons")
    assert (missing.status_code, missing.json()["code"]) == (404, "topic_not_found")


async def test_concurrent_subject_creates_and_grants_make_one_row(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    student = await sign_up(client)
    subjects = await asyncio.gather(
        *[
            client.post(f"{API}/subjects", json={"name": "Chemistry"}, headers=admin.headers)
            for _ in range(10)
        ]
    )
    assert sorted(r.status_code for r in subjects) == [201] + [409] * 9
    assert {r.json()["code"] for r in subjects if r.status_code == 409} == {"subject_name_taken"}
    assert await count(owner_db, "SELECT count(*) FROM subjects") == 1

    tree = await course_tree(client, admin, lessons=0)
    grants = await asyncio.gather(
        *[
            client.post(
                f"{API}/courses/{tree['course_id']}/grants",
                json={"user_id": str(student.id)},
                headers=admin.headers,
            )
            for _ in range(10)
        ]
    )
    assert sorted(r.status_code for r in grants) == [200] * 9 + [201]
    assert await count(owner_db, "SELECT count(*) FROM course_access") == 1


async def test_product_links_and_updates(client: httpx.AsyncClient, owner_db: Database) -> None:
    admin = await make_admin(client, owner_db)
    first = await course_tree(client, admin, lessons=0)
    second = await course_tree(client, admin, lessons=0)
    offer = await product(client, admin, [first["course_id"]], status="private")
    url = f"{API}/products/{offer['id']}"
    assert (await client.get(url)).status_code == 404
    linked = await client.put(f"{url}/courses/{second['course_id']}", headers=admin.headers)
    assert linked.status_code == 204
    await client.put(f"{url}/courses/{second['course_id']}", headers=admin.headers)
    changed = await client.patch(
        url, json={"status": "public", "price_cents": 1999}, headers=admin.headers
    )
    assert changed.status_code == 200
    public = (await client.get(url)).json()
    assert (public["price_cents"], public["status"]) == (1999, "public")
    assert sorted(public["course_ids"]) == sorted([first["course_id"], second["course_id"]])
    gone = await client.delete(f"{url}/courses/{first['course_id']}", headers=admin.headers)
    assert gone.status_code == 204
    again = await client.delete(f"{url}/courses/{first['course_id']}", headers=admin.headers)
    assert (again.status_code, again.json()["code"]) == (404, "course_link_not_found")
    assert (await client.get(url)).json()["course_ids"] == [second["course_id"]]
    bad = await client.patch(url, json={"currency": "usd"}, headers=admin.headers)
    assert bad.status_code == 422
    assert (await client.get(url)).json()["currency"] == "USD"


async def test_openapi_documents_the_courses_routes(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/v1/courses",
        "/api/v1/courses/{course_id}/section-order",
        "/api/v1/products/{product_id}/checkout",
        "/api/v1/purchases/{purchase_id}/refund",
        "/api/v1/lessons/{lesson_id}/completion",
        "/api/v1/courses/{course_id}/continue",
        "/api/v1/topics/{topic_id}/lessons",
    ):
        assert path in paths
