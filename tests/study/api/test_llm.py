"""The LLM engine against a local OpenAI-compatible server: structured output, repair, fallback,
embeddings in pgvector, grounded chat with citation filtering, SSE streaming."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import select

from studyhall.db.engine import Database
from studyhall.study.models import (
    EMBEDDING_DIMENSIONS,
    AiUsage,
    Flashcard,
    MaterialChunk,
    QuizQuestion,
)
from studyhall.study.service.quota import OFFLINE_MODEL
from tests.conftest import run_jobs
from tests.study.api.conftest import API, Member, sign_up, upload
from tests.study.api.docs import PHOTOSYNTHESIS, VOLCANOES, make_pdf
from tests.study.api.fake_llm import FakeState, embed

FIRST_SENTENCE = PHOTOSYNTHESIS.split(". ")[0] + "."


async def _artifact(
    client: httpx.AsyncClient, member: Member, kind: str, material: str
) -> dict[str, Any]:
    created = await client.post(
        f"{API}/artifacts",
        headers=member.headers,
        json={"type": kind, "material_id": material, "max_items": 3},
    )
    assert created.status_code == 202, created.text
    await run_jobs()
    body: dict[str, Any] = (
        await client.get(f"{API}/artifacts/{created.json()['id']}", headers=member.headers)
    ).json()
    return body


async def _usage(owner_db: Database, feature: str) -> list[tuple[str | None, str, int]]:
    async with owner_db.transaction() as session:
        rows = (
            await session.scalars(
                select(AiUsage)
                .where(AiUsage.feature == feature)
                .order_by(AiUsage.created_at, AiUsage.model_name)
            )
        ).all()
    return [(r.model_name, r.status, r.total_tokens) for r in rows]


async def test_llm_artifacts_use_json_schema_and_cite_chunks(
    llm_client: httpx.AsyncClient, llm_state: FakeState, owner_db: Database
) -> None:
    alice = await sign_up(llm_client, "alice@example.com")
    material = await upload(llm_client, alice, "bio.pdf", make_pdf([PHOTOSYNTHESIS]))
    # Every chunk has its vector: the material says semantic search of it is ready.
    assert material["search_modes"] == ["keyword", "semantic"]
    async with owner_db.transaction() as session:
        chunk = (await session.scalars(select(MaterialChunk))).one()
    assert chunk.embedding_model == "fake-embed"
    assert len(chunk.embedding) == EMBEDDING_DIMENSIONS
    assert [round(x, 6) for x in chunk.embedding[:64]] == [
        round(x, 6) for x in embed(chunk.chunk_text)
    ]
    assert not any(chunk.embedding[64:])

    summary = await _artifact(llm_client, alice, "summary", material["id"])
    assert (summary["status"], summary["engine"], summary["model_name"], summary["error"]) == (
        "completed",
        "llm",
        "fake-gpt",
        None,
    )
    sentence = summary["payload"]["sentences"][0]
    assert sentence["text"] == f"In short: {FIRST_SENTENCE}"
    citation = sentence["citations"][0]
    assert (citation["chunk_id"], citation["material_id"], citation["page"]) == (
        str(chunk.id),
        material["id"],
        1,
    )
    assert chunk.chunk_text[citation["start"] : citation["end"]] == FIRST_SENTENCE
    request = llm_state.requests[-1]
    assert request["response_format"]["type"] == "json_schema"
    assert request["response_format"]["json_schema"]["name"] == "summary"

    cards = await _artifact(llm_client, alice, "flashcards", material["id"])
    assert cards["engine"] == "llm"
    assert [(c["kind"], c["back"]) for c in cards["payload"]["cards"]] == [
        ("basic", "Photosynthesis")
    ]
    quiz = await _artifact(llm_client, alice, "quiz", material["id"])
    assert quiz["engine"] == "llm" and quiz["payload"] is None
    async with owner_db.transaction() as session:
        stored_cards = (await session.scalars(select(Flashcard))).all()
        question = (await session.scalars(select(QuizQuestion))).one()
    assert [c.back for c in stored_cards] == ["Photosynthesis"]
    assert (question.correct_answer, question.options) == (
        "Photosynthesis",
        ["zebrafish", "Photosynthesis", "quasar", "violin"],
    )
    assert [u[:2] for u in await _usage(owner_db, "summary")] == [("fake-gpt", "succeeded")]
    assert [u[:2] for u in await _usage(owner_db, "embedding")] == [("fake-embed", "succeeded")]


async def test_malformed_output_is_repaired_once(
    llm_client: httpx.AsyncClient, llm_state: FakeState, owner_db: Database
) -> None:
    alice = await sign_up(llm_client, "alice@example.com")
    material = await upload(llm_client, alice, "bio.md", PHOTOSYNTHESIS.encode())
    llm_state.mode = "malformed_once"
    summary = await _artifact(llm_client, alice, "summary", material["id"])
    assert (summary["engine"], summary["error"]) == ("llm", None)
    assert llm_state.chat_calls == 2
    repair = llm_state.requests[-1]["messages"]
    assert repair[2] == {"role": "assistant", "content": "{not json"}
    assert repair[3]["content"].endswith("- the reply is not valid JSON")
    assert [u[:2] for u in await _usage(owner_db, "summary")] == [
        ("fake-gpt", "failed"),
        ("fake-gpt", "succeeded"),
    ]


async def test_bad_model_falls_back_to_offline_and_says_why(
    llm_client: httpx.AsyncClient, llm_state: FakeState, owner_db: Database
) -> None:
    alice = await sign_up(llm_client, "alice@example.com")
    material = await upload(llm_client, alice, "bio.md", PHOTOSYNTHESIS.encode())
    llm_state.mode = "malformed"
    quiz = await _artifact(llm_client, alice, "flashcards", material["id"])
    assert (quiz["status"], quiz["engine"], quiz["model_name"]) == (
        "completed",
        "offline",
        OFFLINE_MODEL,
    )
    assert quiz["error"] == "invalid model output: the reply is not valid JSON"
    assert all(card["engine"] == "offline" for card in quiz["payload"]["cards"])

    llm_state.mode, llm_state.chat_calls = "timeout", 0
    summary = await _artifact(llm_client, alice, "summary", material["id"])
    assert (summary["status"], summary["engine"]) == ("completed", "offline")
    assert summary["error"] == "model call failed: the model server did not answer in 1.0s"
    assert llm_state.chat_calls == 2
    assert [u[:2] for u in await _usage(owner_db, "summary")] == [
        ("fake-gpt", "failed"),
        ("fake-gpt", "failed"),
        (OFFLINE_MODEL, "succeeded"),
    ]


async def _ask(
    client: httpx.AsyncClient, member: Member, question: str
) -> tuple[str, httpx.Response]:
    thread = await client.post(f"{API}/chat/threads", headers=member.headers, json={"title": "Bio"})
    assert thread.status_code == 201
    thread_id: str = thread.json()["id"]
    reply = await client.post(
        f"{API}/chat/threads/{thread_id}/messages",
        headers=member.headers,
        json={"content": question},
    )
    return thread_id, reply


async def test_llm_chat_keeps_only_citations_of_retrieved_sources(
    llm_client: httpx.AsyncClient, llm_state: FakeState, owner_db: Database
) -> None:
    alice = await sign_up(llm_client, "alice@example.com")
    material = await upload(llm_client, alice, "bio.pdf", make_pdf([PHOTOSYNTHESIS, VOLCANOES]))
    _, reply = await _ask(llm_client, alice, "What does chlorophyll absorb?")
    assert reply.status_code == 201, reply.text
    message = reply.json()
    assert (message["engine"], message["model_name"]) == ("llm", "fake-gpt")
    # The claim whose invented citation was removed is not left standing uncited.
    assert message["content"] == "Chlorophyll absorbs light [1]."
    assert [
        (c["marker"], c["material_id"], c["page"], c["file_name"]) for c in message["citations"]
    ] == [(1, material["id"], 1, "bio.pdf")]
    sources = llm_state.requests[-1]["messages"][0]["content"]
    assert "[1] " + PHOTOSYNTHESIS.split(". ")[0] in sources
    assert [u[0] for u in await _usage(owner_db, "chat")] == ["fake-embed", "fake-gpt"]


async def test_streamed_answer_arrives_as_server_sent_events(
    llm_client: httpx.AsyncClient, llm_state: FakeState
) -> None:
    alice = await sign_up(llm_client, "alice@example.com")
    await upload(llm_client, alice, "bio.md", PHOTOSYNTHESIS.encode())
    thread = (await llm_client.post(f"{API}/chat/threads", headers=alice.headers, json={})).json()
    events: list[tuple[str, Any]] = []
    async with llm_client.stream(
        "POST",
        f"{API}/chat/threads/{thread['id']}/messages/stream",
        headers=alice.headers,
        json={"content": "What does chlorophyll absorb?"},
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        name = ""
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                events.append((name, json.loads(line.split(":", 1)[1])))
    tokens = [data["text"] for name, data in events if name == "token"]
    # Only checked sentences are streamed: the invented citation never reaches the client.
    assert "".join(tokens) == "Chlorophyll absorbs light [1]."
    assert events[-1][0] == "done"
    done = events[-1][1]
    assert done["content"] == "Chlorophyll absorbs light [1]."
    assert [c["marker"] for c in done["citations"]] == [1]
    stored = (
        await llm_client.get(f"{API}/chat/threads/{thread['id']}/messages", headers=alice.headers)
    ).json()["items"]
    assert [(m["role"], m["content"]) for m in stored] == [
        ("user", "What does chlorophyll absorb?"),
        ("assistant", "Chlorophyll absorbs light [1]."),
    ]


async def test_chat_falls_back_to_quoting_when_the_model_times_out(
    llm_client: httpx.AsyncClient, llm_state: FakeState, owner_db: Database
) -> None:
    alice = await sign_up(llm_client, "alice@example.com")
    await upload(llm_client, alice, "bio.md", PHOTOSYNTHESIS.encode())
    llm_state.mode = "timeout"
    _, reply = await _ask(llm_client, alice, "Which enzyme captures carbon dioxide?")
    assert reply.status_code == 201
    message = reply.json()
    assert (message["engine"], message["model_name"]) == ("offline", OFFLINE_MODEL)
    assert message["content"].startswith("“Rubisco is the enzyme")
    assert [c["marker"] for c in message["citations"]] == [1]
    assert [u[:2] for u in await _usage(owner_db, "chat")] == [
        ("fake-embed", "succeeded"),
        ("fake-gpt", "failed"),
        (OFFLINE_MODEL, "succeeded"),
    ]


async def test_a_stream_that_breaks_is_reset_and_answered_offline(
    llm_client: httpx.AsyncClient, llm_state: FakeState, owner_db: Database
) -> None:
    alice = await sign_up(llm_client, "alice@example.com")
    await upload(llm_client, alice, "bio.md", PHOTOSYNTHESIS.encode())
    thread = (await llm_client.post(f"{API}/chat/threads", headers=alice.headers, json={})).json()
    llm_state.mode = "stream_break"
    events: list[tuple[str, Any]] = []
    async with llm_client.stream(
        "POST",
        f"{API}/chat/threads/{thread['id']}/messages/stream",
        headers=alice.headers,
        json={"content": "Which enzyme captures carbon dioxide?"},
    ) as response:
        name = ""
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                events.append((name, json.loads(line.split(":", 1)[1])))
    names = [name for name, _ in events]
    # The stream broke before a whole grounded sentence arrived, so nothing of it was shown.
    assert names == ["reset", "token", "done"]
    assert events[0][1] == {"reason": "the model server sent a malformed stream"}
    done = events[-1][1]
    assert (done["engine"], done["model_name"]) == ("offline", OFFLINE_MODEL)
    assert done["content"] == events[1][1]["text"]
    assert done["content"].startswith("“Rubisco is the enzyme")
    assert [u[:2] for u in await _usage(owner_db, "chat")] == [
        ("fake-embed", "succeeded"),
        ("fake-gpt", "failed"),
        (OFFLINE_MODEL, "succeeded"),
    ]


async def test_search_and_chat_call_the_model_with_no_transaction_open(
    llm_client: httpx.AsyncClient, llm_state: FakeState, busy_app_connections: Callable[[], int]
) -> None:
    alice = await sign_up(llm_client, "alice@example.com")
    await upload(llm_client, alice, "bio.md", PHOTOSYNTHESIS.encode())
    thread = (await llm_client.post(f"{API}/chat/threads", headers=alice.headers, json={})).json()
    seen: list[tuple[str, int]] = []

    def count_busy(path: str) -> None:
        seen.append((path, busy_app_connections()))

    llm_state.on_request = count_busy
    found = await llm_client.post(
        f"{API}/search", headers=alice.headers, json={"query": "What does chlorophyll absorb?"}
    )
    assert found.status_code == 200, found.text
    assert seen == [("/v1/embeddings", 0)]
    reply = await llm_client.post(
        f"{API}/chat/threads/{thread['id']}/messages",
        headers=alice.headers,
        json={"content": "What does chlorophyll absorb?"},
    )
    assert reply.status_code == 201, reply.text
    assert seen[1:] == [("/v1/embeddings", 0), ("/v1/chat/completions", 0)]
    async with llm_client.stream(
        "POST",
        f"{API}/chat/threads/{thread['id']}/messages/stream",
        headers=alice.headers,
        json={"content": "What does chlorophyll absorb?"},
    ) as response:
        assert response.status_code == 200
        lines = [line async for line in response.aiter_lines()]
    assert "event: done" in lines
    assert seen[3:] == [("/v1/embeddings", 0), ("/v1/chat/completions", 0)]
