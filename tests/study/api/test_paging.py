"""Every study list answers ``{items, next_cursor}``: walking the pages with a small ``limit``
yields each item once, in the list's order, and ends with a null cursor."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import run_jobs
from tests.study.api.conftest import API, Member, sign_up, upload
from tests.study.api.docs import PHOTOSYNTHESIS, VOLCANOES

NOTES = f"# Plants\n\n{PHOTOSYNTHESIS}\n\n# Earth\n\n{VOLCANOES}\n".encode()


async def _walk(
    client: httpx.AsyncClient, member: Member, path: str, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """Every item of the list, page by page, and how many pages it took."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        response = await client.get(f"{API}{path}", headers=member.headers, params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"items", "next_cursor"}
        assert len(body["items"]) <= limit
        items.extend(body["items"])
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return items, pages
        assert pages < 50, "the cursor never ends"


async def _whole(client: httpx.AsyncClient, member: Member, path: str) -> list[dict[str, Any]]:
    response = await client.get(f"{API}{path}", headers=member.headers)
    assert response.status_code == 200, response.text
    assert response.json()["next_cursor"] is None
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_materials_pages_newest_first_and_a_bad_cursor_is_422(
    client: httpx.AsyncClient,
) -> None:
    alice = await sign_up(client, "alice@example.com")
    uploaded = [
        (await upload(client, alice, f"n{i}.md", NOTES, process=False))["id"] for i in range(3)
    ]
    items, pages = await _walk(client, alice, "/materials", 1)
    assert [m["id"] for m in items] == list(reversed(uploaded))
    assert pages == 3
    assert [m["id"] for m in await _whole(client, alice, "/materials")] == [m["id"] for m in items]
    bad = await client.get(
        f"{API}/materials", headers=alice.headers, params={"cursor": "not-a-cursor"}
    )
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_cursor")
    too_many = await client.get(f"{API}/materials", headers=alice.headers, params={"limit": 201})
    assert too_many.status_code == 422


async def test_artifacts_and_flashcards_page_through_every_item(
    client: httpx.AsyncClient,
) -> None:
    alice = await sign_up(client, "alice@example.com")
    material = await upload(client, alice, "bio.md", NOTES)
    made = []
    for kind in ("summary", "flashcards", "quiz"):
        created = await client.post(
            f"{API}/artifacts",
            headers=alice.headers,
            json={"type": kind, "material_id": material["id"], "max_items": 4},
        )
        assert created.status_code == 202, created.text
        made.append(created.json()["id"])
    await run_jobs()

    artifacts, pages = await _walk(client, alice, "/artifacts", 2)
    assert [a["id"] for a in artifacts] == list(reversed(made)) and pages == 2
    quiz = next(a for a in artifacts if a["type"] == "quiz")
    assert quiz["quiz_id"] is not None and quiz["payload"] is None

    cards = await _whole(client, alice, "/flashcards")
    assert len(cards) >= 2
    walked, pages = await _walk(client, alice, "/flashcards", 1)
    assert [c["id"] for c in walked] == [c["id"] for c in cards] and pages == len(cards)
    due, _ = await _walk(client, alice, "/flashcards/due", 1)
    assert sorted(c["id"] for c in due) == sorted(c["id"] for c in cards)
    assert [c["due_at"] for c in due] == sorted(c["due_at"] for c in due)


async def test_chat_threads_and_messages_page_in_order(client: httpx.AsyncClient) -> None:
    alice = await sign_up(client, "alice@example.com")
    await upload(client, alice, "bio.md", NOTES)
    threads = []
    for title in ("one", "two", "three"):
        created = await client.post(
            f"{API}/chat/threads", headers=alice.headers, json={"title": title}
        )
        assert created.status_code == 201
        threads.append(created.json()["id"])
    walked, pages = await _walk(client, alice, "/chat/threads", 2)
    assert [t["id"] for t in walked] == list(reversed(threads)) and pages == 2

    questions = ["What does chlorophyll absorb?", "Where do volcanoes form?"]
    for question in questions:
        asked = await client.post(
            f"{API}/chat/threads/{threads[0]}/messages",
            headers=alice.headers,
            json={"content": question},
        )
        assert asked.status_code == 201, asked.text
    messages, pages = await _walk(client, alice, f"/chat/threads/{threads[0]}/messages", 1)
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
    assert [m["content"] for m in messages if m["role"] == "user"] == questions
    assert pages == 4
