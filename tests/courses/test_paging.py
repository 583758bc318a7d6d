"""Every list route of courses answers ``{items, next_cursor}``: walking the pages with a small
``limit`` returns each item exactly once, in the documented order, and the last page says so."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from studyhall.db.engine import Database
from tests.courses.helpers import Actor, course_tree, make_admin, post, product, sign_up

API = "/api/v1"


async def walk(
    client: httpx.AsyncClient, url: str, actor: Actor | None = None, limit: int = 2
) -> list[dict[str, Any]]:
    headers = {} if actor is None else actor.headers
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(50):
        params: dict[str, Any] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        response = await client.get(url, params=params, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        assert set(page) == {"items", "next_cursor"}
        assert len(page["items"]) <= limit
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError(f"{url} never reached its last page")


async def test_taxonomy_lists_page_by_name(client: httpx.AsyncClient, owner_db: Database) -> None:
    admin = await make_admin(client, owner_db)
    tag = uuid.uuid4().hex[:8]
    names = [f"{tag} {letter}" for letter in "edcba"]
    for name in names:
        subject = await post(client, f"{API}/subjects", admin, {"name": name})
    subjects = [s["name"] for s in await walk(client, f"{API}/subjects")]
    assert [n for n in subjects if n.startswith(tag)] == sorted(names)
    for topic in ("Waves", "Optics", "Heat"):
        await post(client, f"{API}/subjects/{subject['id']}/topics", admin, {"name": topic})
    topics = await walk(client, f"{API}/subjects/{subject['id']}/topics")
    assert [t["name"] for t in topics] == ["Heat", "Optics", "Waves"]


async def test_topic_lessons_page_in_course_order(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    subject = await post(client, f"{API}/subjects", admin, {"name": f"S {uuid.uuid4()}"})
    topic = await post(client, f"{API}/subjects/{subject['id']}/topics", admin, {"name": "T"})
    tree = await course_tree(client, admin, sections=2, lessons=3)
    for lesson_id in tree["lessons"]:
        changed = await client.patch(
            f"{API}/lessons/{lesson_id}", json={"topic_id": topic["id"]}, headers=admin.headers
        )
        assert changed.status_code == 200, changed.text
    listed = await walk(client, f"{API}/topics/{topic['id']}/lessons")
    assert [lesson["id"] for lesson in listed] == tree["lessons"]


async def test_store_lists_page_newest_first(client: httpx.AsyncClient, owner_db: Database) -> None:
    admin = await make_admin(client, owner_db)
    student = await sign_up(client)
    trees = [await course_tree(client, admin, lessons=1) for _ in range(3)]
    products = [await product(client, admin, [t["course_id"]], price_cents=0) for t in trees]
    for bought in products:
        await post(client, f"{API}/products/{bought['id']}/checkout", student, None)

    mine = {p["id"] for p in products}
    listed = [p["id"] for p in await walk(client, f"{API}/products") if p["id"] in mine]
    assert listed == [p["id"] for p in reversed(products)]
    history = await walk(client, f"{API}/me/purchases", student)
    assert [h["product_id"] for h in history] == [p["id"] for p in reversed(products)]
    courses = await walk(client, f"{API}/me/courses", student)
    assert sorted(c["course_id"] for c in courses) == sorted(t["course_id"] for t in trees)
    assert len({c["course_id"] for c in courses}) == 3


async def test_a_foreign_cursor_is_refused_not_crashed(client: httpx.AsyncClient) -> None:
    for url in (f"{API}/subjects", f"{API}/products", f"{API}/courses"):
        refused = await client.get(url, params={"cursor": "bm90LW91cnM"})
        assert (refused.status_code, refused.json()["code"]) == (422, "invalid_cursor")
