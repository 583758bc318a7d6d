"""Model answers held to their sources against a fake model that misbehaves: every citation syntax
normalised, uncited or invented claims dropped, nothing unchecked streamed, summaries that say
more than their quote refused, and questions the materials do not cover answered "not found"."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
from sqlalchemy import select

from studyhall.db.engine import Database
from studyhall.study.engine.answer import NOT_FOUND
from studyhall.study.engine.grounding import SentenceGate, ground
from studyhall.study.models import AiUsage, MaterialChunk
from studyhall.study.service.generation import MIN_QUOTE_SUPPORT, quote_support
from studyhall.study.service.quota import OFFLINE_MODEL
from tests.conftest import run_jobs
from tests.study.api.conftest import API, Member, sign_up, upload
from tests.study.api.docs import PHOTOSYNTHESIS
from tests.study.api.fake_llm import FakeState

QUESTION = "Which enzyme captures carbon dioxide?"


async def _chunk_id(owner_db: Database, material_id: str) -> str:
    async with owner_db.transaction() as session:
        ids = (
            await session.scalars(
                select(MaterialChunk.id).where(MaterialChunk.material_id == material_id)
            )
        ).all()
    assert len(ids) == 1
    return str(ids[0])


async def _ask(client: httpx.AsyncClient, member: Member, question: str) -> dict[str, Any]:
    thread = (await client.post(f"{API}/chat/threads", headers=member.headers, json={})).json()
    reply = await client.post(
        f"{API}/chat/threads/{thread['id']}/messages",
        headers=member.headers,
        json={"content": question},
    )
    assert reply.status_code == 201, reply.text
    body: dict[str, Any] = reply.json()
    return body


async def _stream(
    client: httpx.AsyncClient, member: Member, question: str
) -> list[tuple[str, Any]]:
    thread = (await client.post(f"{API}/chat/threads", headers=member.headers, json={})).json()
    events: list[tuple[str, Any]] = []
    async with client.stream(
        "POST",
        f"{API}/chat/threads/{thread['id']}/messages/stream",
        headers=member.headers,
        json={"content": question},
    ) as response:
        assert response.status_code == 200
        name = ""
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                events.append((name, json.loads(line.split(":", 1)[1])))
    return events


async def _chat_usage(owner_db: Database) -> list[tuple[str | None, str]]:
    async with owner_db.transaction() as session:
        rows = (
            await session.execute(
                select(AiUsage.model_name, AiUsage.status)
                .where(AiUsage.feature == "chat")
                .order_by(AiUsage.created_at)
            )
        ).all()
    return [(model, status) for model, status in rows]


async def test_every_citation_syntax_is_normalised_or_removed(
    llm_client: httpx.AsyncClient, llm_state: FakeState, owner_db: Database
) -> None:
    alice = await sign_up(llm_client, "alice@example.com")
    material = await upload(llm_client, alice, "bio.md", PHOTOSYNTHESIS.encode())
    chunk = await _chunk_id(owner_db, material["id"])
    llm_state.chat_answer = (
        f"Rubisco captures carbon dioxide [{chunk}]. "
        "It works in the Calvin cycle [S1]. "
        "The cycle runs in the stroma [1, 2]. "
        f"Rubisco was found on Mars [{uuid.uuid4()}]. "
        "Chlorophyll absorbs red light [Source 1]. "
        "Plants also sing at night [S7]."
    )
    message = await _ask(llm_client, alice, QUESTION)
    assert (message["engine"], message["model_name"]) == ("llm", "fake-gpt")
    assert message["content"] == (
        "Rubisco captures carbon dioxide [1]. It works in the Calvin cycle [1]. "
        "The cycle runs in the stroma [1]. Chlorophyll absorbs red light [1]."
    )
    assert [(c["marker"], c["chunk_id"]) for c in message["citations"]] == [(1, chunk)]
    assert message["related"] == []


async def test_an_answer_that_cites_nothing_falls_back_to_quoting(
    llm_client: httpx.AsyncClient, llm_state: FakeState, owner_db: Database
) -> None:
    alice = await sign_up(llm_client, "alice@example.com")
    await upload(llm_client, alice, "bio.md", PHOTOSYNTHESIS.encode())
    llm_state.chat_answer = "Rubisco captures carbon dioxide. It was discovered in 1950."
    message = await _ask(llm_client, alice, QUESTION)
    assert (message["engine"], message["model_name"]) == ("offline", OFFLINE_MODEL)
    assert message["content"].startswith("“Rubisco is the enzyme that captures carbon dioxide")
    assert [c["marker"] for c in message["citations"]] == [1]
    # The model's tokens were spent and are metered; the offline run answered.
    assert await _chat_usage(owner_db) == [
        ("fake-embed", "succeeded"),
        ("fake-gpt", "succeeded"),
        (OFFLINE_MODEL, "succeeded"),
    ]


async def test_only_checked_sentences_are_streamed(
    llm_client: httpx.AsyncClient, llm_state: FakeState, owner_db: Database
) -> None:
    alice = await sign_up(llm_client, "alice@example.com")
    await upload(llm_client, alice, "bio.md", PHOTOSYNTHESIS.encode())
    llm_state.chat_answer = (
        "Rubisco captures carbon dioxide [S1]. It was invented by dolphins [4]. "
        f"Nobody knows why [{uuid.uuid4()}]. It works in the Calvin cycle. [1]"
    )
    events = await _stream(llm_client, alice, QUESTION)
    names = [name for name, _ in events]
    assert names[-1] == "done" and "replace" not in names and "reset" not in names
    streamed = "".join(data["text"] for name, data in events if name == "token")
    expected = "Rubisco captures carbon dioxide [1]. It works in the Calvin cycle [1]."
    assert streamed == expected
    assert all(
        "dolphins" not in data["text"] and "[S1]" not in data["text"]
        for name, data in events
        if name == "token"
    )
    done = events[-1][1]
    assert (done["content"], done["engine"]) == (expected, "llm")


async def test_a_stream_with_no_cited_sentence_is_answered_offline(
    llm_client: httpx.AsyncClient, llm_state: FakeState
) -> None:
    alice = await sign_up(llm_client, "alice@example.com")
    await upload(llm_client, alice, "bio.md", PHOTOSYNTHESIS.encode())
    llm_state.chat_answer = "Rubisco captures carbon dioxide. Dolphins invented it [9]."
    events = await _stream(llm_client, alice, QUESTION)
    assert [name for name, _ in events] == ["token", "done"]
    done = events[-1][1]
    assert (done["engine"], done["content"]) == ("offline", events[0][1]["text"])
    assert done["content"].startswith("“Rubisco is the enzyme")


def test_nothing_is_released_before_its_sentence_is_complete_and_cited() -> None:
    ids = [str(uuid.uuid4()), str(uuid.uuid4())]
    gate = SentenceGate(ids)
    # A citation written after the full stop still arrives before the sentence is shown.
    assert gate.feed("Light is absorbed. ") == ""
    assert gate.feed("[2] ") == ""
    assert gate.feed("Sugar ") == "Light is absorbed [2]."
    assert gate.feed("forms in leaves. Starch [S1] ") == ""
    assert gate.feed("is stored.") == ""
    final, diverged = gate.finish()
    assert (final.text, final.dropped, diverged) == (
        "Light is absorbed [2]. Starch [1] is stored.",
        1,
        False,
    )
    assert ground("Plain text with [sic] and no source.", ids).text == ""


def test_quote_support_refuses_a_sentence_that_says_more_than_its_quote() -> None:
    quote = "Rubisco is the enzyme that captures carbon dioxide in the Calvin cycle."
    assert quote_support("Rubisco captures carbon dioxide in the Calvin cycle.", quote) == 1.0
    invented = "Rubisco was designed by a committee of dolphins for spacecraft."
    assert quote_support(invented, quote) < MIN_QUOTE_SUPPORT


async def test_a_summary_sentence_must_be_supported_by_its_quote(
    llm_client: httpx.AsyncClient, llm_state: FakeState
) -> None:
    alice = await sign_up(llm_client, "alice@example.com")
    material = await upload(llm_client, alice, "bio.md", PHOTOSYNTHESIS.encode())
    llm_state.mode = "summary_invented"
    created = await llm_client.post(
        f"{API}/artifacts",
        headers=alice.headers,
        json={"type": "summary", "material_id": material["id"], "max_items": 3},
    )
    assert created.status_code == 202, created.text
    await run_jobs()
    artifact = (
        await llm_client.get(f"{API}/artifacts/{created.json()['id']}", headers=alice.headers)
    ).json()
    assert (artifact["status"], artifact["engine"]) == ("completed", "offline")
    assert "the numbers 2031 are not in the quote" in artifact["error"]
    assert not any("dolphins" in s["text"] for s in artifact["payload"]["sentences"])
    assert llm_state.chat_calls == 2


async def test_a_question_the_materials_do_not_cover_asks_no_model(
    llm_client: httpx.AsyncClient, llm_state: FakeState
) -> None:
    alice = await sign_up(llm_client, "alice@example.com")
    await upload(llm_client, alice, "bio.md", PHOTOSYNTHESIS.encode())
    message = await _ask(llm_client, alice, "How does a B-tree stay balanced when keys split?")
    assert (message["content"], message["engine"], message["citations"]) == (
        NOT_FOUND,
        "offline",
        [],
    )
    # The vectors still find the nearest passage: offered as related reading, not as a source.
    assert [r["file_name"] for r in message["related"]] == ["bio.md"]
    assert message["related"][0]["snippet"].startswith("Photosynthesis is the process")
    assert llm_state.chat_calls == 0
