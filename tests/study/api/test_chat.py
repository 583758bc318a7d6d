"""Offline grounded chat, and retrieval that never crosses users."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import func, select

from studyhall.db.engine import Database, set_current_user
from studyhall.study.engine.answer import NOT_FOUND
from studyhall.study.models import ChatMessage, MaterialChunk, MaterialLexeme
from studyhall.study.service.quota import OFFLINE_MODEL
from tests.study.api.conftest import API, sign_up, upload
from tests.study.api.docs import PHOTOSYNTHESIS, VOLCANOES, make_pdf

RUBISCO = "Rubisco is the enzyme that captures carbon dioxide in the Calvin cycle."


async def test_offline_answer_quotes_and_cites_material_and_page(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    alice = await sign_up(client, "alice@example.com")
    material = await upload(client, alice, "bio.pdf", make_pdf([VOLCANOES, PHOTOSYNTHESIS]))
    thread = await client.post(f"{API}/chat/threads", headers=alice.headers, json={"title": "Bio"})
    assert thread.status_code == 201
    reply = await client.post(
        f"{API}/chat/threads/{thread.json()['id']}/messages",
        headers=alice.headers,
        json={"content": "Which enzyme captures carbon dioxide?"},
    )
    assert reply.status_code == 201, reply.text
    message = reply.json()
    assert (message["role"], message["engine"], message["model_name"]) == (
        "assistant",
        "offline",
        OFFLINE_MODEL,
    )
    assert message["content"].startswith(f"“{RUBISCO}” [1]")
    first = message["citations"][0]
    assert (
        first["marker"],
        first["material_id"],
        first["file_name"],
        first["page"],
        first["quote"],
    ) == (
        1,
        material["id"],
        "bio.pdf",
        2,
        RUBISCO,
    )
    async with owner_db.transaction() as session:
        chunk = await session.get(MaterialChunk, first["chunk_id"])
    assert chunk is not None and chunk.page_number == 2 and RUBISCO in chunk.chunk_text

    history = await client.get(
        f"{API}/chat/threads/{thread.json()['id']}/messages", headers=alice.headers
    )
    assert [m["role"] for m in history.json()["items"]] == ["user", "assistant"]
    usage = (await client.get(f"{API}/ai/usage", headers=alice.headers)).json()
    assert [(r["feature"], r["model_name"], r["status"]) for r in usage["recent"]] == [
        ("chat", OFFLINE_MODEL, "succeeded")
    ]
    day = next(q for q in usage["quotas"] if q["period"] == "day")
    assert day["reserved_tokens"] == 0
    # The offline run is a statistic (its row keeps its sizes), not model tokens: nothing charged.
    assert usage["recent"][0]["total_tokens"] > 0
    assert day["used_tokens"] == 0


async def test_another_users_material_is_never_retrieved(
    client: httpx.AsyncClient, owner_db: Database, db: Database
) -> None:
    alice = await sign_up(client, "alice@example.com")
    bob = await sign_up(client, "bob@example.com")
    await upload(client, alice, "bio.md", PHOTOSYNTHESIS.encode())
    bobs = await upload(client, bob, "earth.md", VOLCANOES.encode())

    search = await client.post(
        f"{API}/search", headers=bob.headers, json={"query": "chlorophyll Calvin cycle Rubisco"}
    )
    assert search.status_code == 200 and search.json() == []
    own = await client.post(f"{API}/search", headers=bob.headers, json={"query": "caldera"})
    assert [h["material_id"] for h in own.json()] == [bobs["id"]]

    thread = (await client.post(f"{API}/chat/threads", headers=bob.headers, json={})).json()
    reply = await client.post(
        f"{API}/chat/threads/{thread['id']}/messages",
        headers=bob.headers,
        json={"content": "Which enzyme captures carbon dioxide in the Calvin cycle?"},
    )
    assert (reply.json()["content"], reply.json()["citations"]) == (NOT_FOUND, [])

    # Even a query that names the material directly finds nothing under Bob's identity.
    async with db.transaction() as session:
        await set_current_user(session, uuid.UUID(str(bob.id)))
        seen = await session.scalar(
            select(func.count()).select_from(MaterialChunk).where(MaterialChunk.user_id == alice.id)
        )
        # Nor do the lexeme counts search reads its document frequencies from.
        counted = await session.scalar(
            select(func.count())
            .select_from(MaterialLexeme)
            .where(MaterialLexeme.user_id == alice.id)
        )
    assert seen == 0 and counted == 0
    async with owner_db.transaction() as session:
        rubisco = await session.scalar(
            select(MaterialLexeme.chunks).where(
                MaterialLexeme.user_id == alice.id, MaterialLexeme.lexeme == "rubisco"
            )
        )
    assert rubisco == 1


async def test_threads_are_private(client: httpx.AsyncClient, owner_db: Database) -> None:
    alice = await sign_up(client, "alice@example.com")
    bob = await sign_up(client, "bob@example.com")
    thread = (await client.post(f"{API}/chat/threads", headers=alice.headers, json={})).json()
    for method, path, body in (
        ("POST", f"/chat/threads/{thread['id']}/messages", {"content": "hi"}),
        ("GET", f"/chat/threads/{thread['id']}/messages", None),
        ("DELETE", f"/chat/threads/{thread['id']}", None),
    ):
        response = await client.request(method, API + path, headers=bob.headers, json=body)
        assert (response.status_code, response.json()["code"]) == (404, "thread_not_found")
    empty = await client.post(
        f"{API}/chat/threads/{thread['id']}/messages", headers=alice.headers, json={"content": ""}
    )
    assert empty.status_code == 422
    async with owner_db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(ChatMessage)) == 0
    assert (await client.get(f"{API}/chat/threads", headers=bob.headers)).json() == {
        "items": [],
        "next_cursor": None,
    }
    assert (
        len((await client.get(f"{API}/chat/threads", headers=alice.headers)).json()["items"]) == 1
    )


GLYCOLYSIS = (
    "Glycolysis splits one glucose molecule into two pyruvate molecules in the cytoplasm. "
    "The Krebs cycle oxidises acetyl groups in the mitochondrial matrix. "
    "Mitochondria make most of the ATP a cell uses."
)


async def test_a_question_the_notes_do_not_cover_is_not_found_with_related_passages(
    client: httpx.AsyncClient,
) -> None:
    alice = await sign_up(client, "alice@example.com")
    await upload(client, alice, "cells.pdf", make_pdf([GLYCOLYSIS, PHOTOSYNTHESIS]))
    thread = await client.post(f"{API}/chat/threads", headers=alice.headers, json={})
    reply = await client.post(
        f"{API}/chat/threads/{thread.json()['id']}/messages",
        headers=alice.headers,
        json={"content": "How does a B-tree split a full node when a key is inserted?"},
    )
    assert reply.status_code == 201, reply.text
    message = reply.json()
    # "splits" is the one word shared with the notes: no glycolysis sentence passes as an answer.
    assert (message["content"], message["citations"], message["engine"]) == (
        NOT_FOUND,
        [],
        "offline",
    )
    related = message["related"]
    assert [(r["file_name"], r["page"]) for r in related] == [("cells.pdf", 1)]
    assert "Glycolysis splits one glucose" in related[0]["snippet"]
    history = await client.get(
        f"{API}/chat/threads/{thread.json()['id']}/messages", headers=alice.headers
    )
    assert history.json()["items"][-1]["related"] == related


async def test_a_thread_about_a_material_answers_from_it_and_is_listed_by_it(
    client: httpx.AsyncClient,
) -> None:
    alice = await sign_up(client, "alice@example.com")
    bob = await sign_up(client, "bob@example.com")
    bio = await upload(client, alice, "bio.md", PHOTOSYNTHESIS.encode())
    earth = await upload(client, alice, "earth.md", VOLCANOES.encode())
    bobs = await upload(client, bob, "bob.md", VOLCANOES.encode())
    refused = await client.post(
        f"{API}/chat/threads", headers=alice.headers, json={"material_id": bobs["id"]}
    )
    assert (refused.status_code, refused.json()["code"]) == (404, "material_not_found")

    about_earth = await client.post(
        f"{API}/chat/threads", headers=alice.headers, json={"material_id": earth["id"]}
    )
    assert about_earth.status_code == 201 and about_earth.json()["material_id"] == earth["id"]
    anything = await client.post(f"{API}/chat/threads", headers=alice.headers, json={})
    assert anything.json()["material_id"] is None
    # Only the volcano notes are searched: the enzyme question finds nothing in them.
    reply = await client.post(
        f"{API}/chat/threads/{about_earth.json()['id']}/messages",
        headers=alice.headers,
        json={"content": "Which enzyme captures carbon dioxide?"},
    )
    assert reply.status_code == 201, reply.text
    assert reply.json()["content"] == NOT_FOUND
    assert all(c["material_id"] == earth["id"] for c in reply.json()["related"])
    # A question that names its own materials is answered from those.
    named = await client.post(
        f"{API}/chat/threads/{about_earth.json()['id']}/messages",
        headers=alice.headers,
        json={"content": "Which enzyme captures carbon dioxide?", "material_ids": [bio["id"]]},
    )
    assert named.json()["citations"][0]["material_id"] == bio["id"]

    listed = await client.get(
        f"{API}/chat/threads", headers=alice.headers, params={"material_id": earth["id"]}
    )
    assert [t["id"] for t in listed.json()["items"]] == [about_earth.json()["id"]]
    everything = await client.get(f"{API}/chat/threads", headers=alice.headers)
    assert len(everything.json()["items"]) == 2
