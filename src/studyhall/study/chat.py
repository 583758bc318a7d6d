"""Grounded chat (seed 000 messages, seed 002 doubt sessions): every answer cites retrieved chunks.

The model sees numbered sources and cites them as ``[n]``; markers that name no retrieved
source are removed from the text, so a citation always resolves to a material and a page.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import User
from studyhall.audit import service as audit
from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.kit.errors import NotFound
from studyhall.progress import service as progress
from studyhall.study import quota
from studyhall.study.engine.answer import answer_question, filter_citations
from studyhall.study.engine.chunk import DEFAULT_MAX_TOKENS, count_tokens
from studyhall.study.llm import LlmClient, LlmError, StreamEnd, chat_client
from studyhall.study.models import ChatMessage, ChatThread
from studyhall.study.quota import OFFLINE_MODEL, Reservation, UsageCall
from studyhall.study.retrieval import RetrievedChunk, embed_query, search

TOP_K = 6
HISTORY_MESSAGES = 6
_MARKER = re.compile(r"\[(\d{1,3})\]")


async def create_thread(
    session: AsyncSession, user: User, title: str | None, topic_id: uuid.UUID | None
) -> ChatThread:
    thread = ChatThread(user_id=user.id, title=title, topic_id=topic_id)
    session.add(thread)
    await session.flush()
    await audit.record(session, user.id, "chat_thread.create", "chat_thread", thread.id)
    return thread


async def get_thread(session: AsyncSession, user_id: uuid.UUID, thread_id: uuid.UUID) -> ChatThread:
    thread = await session.get(ChatThread, thread_id)
    if thread is None or thread.user_id != user_id or thread.deleted_at is not None:
        raise NotFound("No such chat thread.", code="thread_not_found")
    return thread


async def list_threads(session: AsyncSession, user_id: uuid.UUID) -> Sequence[ChatThread]:
    return (
        await session.scalars(
            select(ChatThread)
            .where(ChatThread.user_id == user_id, ChatThread.deleted_at.is_(None))
            .order_by(ChatThread.updated_at.desc(), ChatThread.id)
        )
    ).all()


async def delete_thread(session: AsyncSession, user: User, thread_id: uuid.UUID) -> None:
    thread = await get_thread(session, user.id, thread_id)
    thread.deleted_at = datetime.now(UTC)
    await audit.record(session, user.id, "chat_thread.delete", "chat_thread", thread.id)


async def messages(session: AsyncSession, thread_id: uuid.UUID) -> Sequence[ChatMessage]:
    return (
        await session.scalars(
            select(ChatMessage)
            .where(ChatMessage.thread_id == thread_id)
            .order_by(ChatMessage.created_at, ChatMessage.role.desc(), ChatMessage.id)
        )
    ).all()


@dataclass
class Turn:
    """A question with its sources, ready to be answered."""

    thread: ChatThread
    question: str
    chunks: list[RetrievedChunk]
    history: list[dict[str, str]]
    reservation: Reservation
    calls: list[UsageCall]


def _citation(chunk: RetrievedChunk, marker: int, quote: str | None = None) -> dict[str, Any]:
    passage = chunk.to_passage()
    return {
        "marker": marker,
        "chunk_id": str(chunk.id),
        "material_id": str(chunk.material_id),
        "file_name": chunk.file_name,
        "page": passage.page,
        "slide": passage.slide,
        "heading": chunk.heading,
        "quote": quote,
    }


async def open_turn(
    database: Database,
    settings: Settings,
    user: User,
    thread_id: uuid.UUID,
    question: str,
    material_ids: Sequence[uuid.UUID] | None,
) -> Turn:
    """Embed the question (no transaction open: it may call a model), then check the thread,
    reserve quota, store the question and retrieve its sources in one short transaction."""
    calls: list[UsageCall] = []
    vector, model = await embed_query(settings, question, calls)
    async with database.transaction(user.id) as session:
        return await _prepare(
            session,
            database,
            settings,
            user,
            thread_id,
            question,
            material_ids,
            vector,
            model,
            calls,
        )


async def ask(
    database: Database,
    settings: Settings,
    user: User,
    thread_id: uuid.UUID,
    question: str,
    material_ids: Sequence[uuid.UUID] | None,
) -> ChatMessage:
    """One grounded answer: the model is called between short transactions, never inside one."""
    turn = await open_turn(database, settings, user, thread_id, question, material_ids)
    text, citations, engine, model = await answer(settings, turn)
    return await save_answer(database, turn, text, citations, engine, model)


async def _prepare(
    session: AsyncSession,
    database: Database,
    settings: Settings,
    user: User,
    thread_id: uuid.UUID,
    question: str,
    material_ids: Sequence[uuid.UUID] | None,
    query_vector: list[float] | None,
    embedding_model: str | None,
    calls: list[UsageCall],
) -> Turn:
    thread = await get_thread(session, user.id, thread_id)
    estimate = count_tokens(question) + TOP_K * DEFAULT_MAX_TOKENS + settings.llm_max_output_tokens
    reservation = await quota.reserve(database, settings, user, "chat", estimate)
    history = [
        {"role": m.role, "content": m.content}
        for m in (await messages(session, thread.id))[-HISTORY_MESSAGES:]
    ]
    asked = ChatMessage(thread_id=thread.id, user_id=user.id, role="user", content=question)
    session.add(asked)
    await session.flush()
    await progress.record(session, progress.QuestionAsked(user_id=user.id, message_id=asked.id))
    chunks = await search(
        session,
        user.id,
        question,
        k=TOP_K,
        material_ids=material_ids,
        query_vector=query_vector,
        embedding_model=embedding_model,
    )
    return Turn(thread, question, chunks, history, reservation, calls)


def offline_answer(turn: Turn) -> tuple[str, list[dict[str, Any]]]:
    by_id = {str(c.id): c for c in turn.chunks}
    answer = answer_question(turn.question, [c.to_passage() for c in turn.chunks])
    citations = [
        _citation(by_id[quote.citations[0].chunk_id], n, quote.text)
        for n, quote in enumerate(answer.quotes, start=1)
    ]
    return answer.text, citations


def clean_citations(
    text: str, chunks: Sequence[RetrievedChunk]
) -> tuple[str, list[dict[str, Any]]]:
    """Keep ``[n]`` markers that name a retrieved source; drop the rest from text and list."""
    cited: list[str] = []

    def keep(match: re.Match[str]) -> str:
        n = int(match.group(1))
        if 1 <= n <= len(chunks):
            cited.append(str(chunks[n - 1].id))
            return match.group(0)
        return ""

    cleaned = re.sub(r"[ \t]+([.,;:!?])", r"\1", _MARKER.sub(keep, text)).strip()
    allowed = filter_citations(cited, (str(c.id) for c in chunks))
    index = {str(c.id): n for n, c in enumerate(chunks, start=1)}
    by_id = {str(c.id): c for c in chunks}
    return cleaned, [_citation(by_id[cid], index[cid]) for cid in allowed]


def llm_messages(turn: Turn) -> list[dict[str, str]]:
    sources = "\n\n".join(f"[{n}] {c.text}" for n, c in enumerate(turn.chunks, start=1))
    system = (
        "You are a study assistant. Answer only from the numbered sources below; cite every "
        "claim with its source number in square brackets, like [2]. If the sources do not "
        "answer the question, say that the materials do not cover it.\n\nSources:\n" + sources
    )
    return [
        {"role": "system", "content": system},
        *turn.history,
        {"role": "user", "content": turn.question},
    ]


async def answer(settings: Settings, turn: Turn) -> tuple[str, list[dict[str, Any]], str, str]:
    """(text, citations, engine, model); a failing model falls back to quoting the sources."""
    client = chat_client(settings)
    if client is not None and turn.chunks:
        try:
            result = await client.chat(
                llm_messages(turn), max_tokens=settings.llm_max_output_tokens
            )
        except LlmError as exc:
            turn.calls.append(UsageCall(client.model, 0, 0, "failed", exc.message))
        else:
            turn.calls.append(
                UsageCall(result.model, result.prompt_tokens, result.completion_tokens)
            )
            text, citations = clean_citations(result.content, turn.chunks)
            return text, citations, "llm", result.model
    text, citations = offline_answer(turn)
    prompt = count_tokens(turn.question) + sum(count_tokens(c.text) for c in turn.chunks)
    turn.calls.append(UsageCall(OFFLINE_MODEL, prompt, count_tokens(text)))
    return text, citations, "offline", OFFLINE_MODEL


async def save_answer(
    database: Database,
    turn: Turn,
    text: str,
    citations: list[dict[str, Any]],
    engine: str,
    model: str,
) -> ChatMessage:
    """Store the reply and settle the quota, in a transaction of its own."""
    async with database.transaction(turn.thread.user_id) as session:
        turn.thread = await session.merge(turn.thread)
        return await _finish(session, turn, text, citations, engine, model)


async def _finish(
    session: AsyncSession,
    turn: Turn,
    text: str,
    citations: list[dict[str, Any]],
    engine: str,
    model: str,
) -> ChatMessage:
    reply = ChatMessage(
        thread_id=turn.thread.id,
        user_id=turn.thread.user_id,
        role="assistant",
        content=text,
        citations=citations,
        engine=engine,
        model_name=model,
        created_at=datetime.now(UTC),
    )
    session.add(reply)
    turn.thread.updated_at = datetime.now(UTC)
    await session.flush()
    await quota.settle(session, turn.reservation.id, turn.calls, thread_id=turn.thread.id)
    await audit.record(
        session,
        turn.thread.user_id,
        "chat_message.answer",
        "chat_message",
        reply.id,
        {"engine": engine, "citations": len(citations)},
    )
    return reply


async def stream(
    database: Database, settings: Settings, turn: Turn, client: LlmClient | None
) -> AsyncIterator[dict[str, Any]]:
    """Server-sent events: ``token`` deltas, ``reset`` if the model fails midway, then ``done``."""
    text, engine, model = "", "offline", OFFLINE_MODEL
    citations: list[dict[str, Any]] = []
    streamed = False
    if client is not None and turn.chunks:
        parts: list[str] = []
        try:
            async for item in client.stream(
                llm_messages(turn), max_tokens=settings.llm_max_output_tokens
            ):
                if isinstance(item, StreamEnd):
                    full = "".join(parts)
                    prompt = item.prompt_tokens or sum(
                        count_tokens(m["content"]) for m in llm_messages(turn)
                    )
                    completion = item.completion_tokens or count_tokens(full)
                    turn.calls.append(UsageCall(item.model, prompt, completion))
                    text, citations = clean_citations(full, turn.chunks)
                    engine, model, streamed = "llm", item.model, True
                else:
                    parts.append(item)
                    yield {"event": "token", "data": {"text": item}}
        except LlmError as exc:
            turn.calls.append(
                UsageCall(client.model, 0, count_tokens("".join(parts)), "failed", exc.message)
            )
            yield {"event": "reset", "data": {"reason": exc.message}}
    if not streamed:
        text, citations, engine, model = await answer(
            settings.model_copy(update={"llm_base_url": None}), turn
        )
        yield {"event": "token", "data": {"text": text}}
    reply = await save_answer(database, turn, text, citations, engine, model)
    done = {
        "id": str(reply.id),
        "thread_id": str(reply.thread_id),
        "role": reply.role,
        "content": reply.content,
        "citations": reply.citations,
        "engine": reply.engine,
        "model_name": reply.model_name,
    }
    yield {"event": "done", "data": done}
