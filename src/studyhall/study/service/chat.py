"""Grounded chat: threads of questions, and answers that cite the retrieved chunks.

The model sees numbered sources and cites them as ``[n]``; ``grounding`` rewrites every other
citation syntax, removes markers that name no retrieved source and drops sentences left without
one, so a citation always resolves to a material and a page. When no retrieved chunk holds
enough of the question, the answer is "not found" and the chunks are offered as related reading.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import User
from studyhall.audit import service as audit
from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.kit import events
from studyhall.kit.errors import NotFound
from studyhall.kit.paging import PageRequest, after
from studyhall.study.engine.answer import ABSTAIN_BELOW, NOT_FOUND, answer_question
from studyhall.study.engine.chunk import DEFAULT_MAX_TOKENS, count_tokens
from studyhall.study.engine.grounding import Grounded, SentenceGate, ground
from studyhall.study.events import QuestionAsked
from studyhall.study.models import ChatMessage, ChatThread
from studyhall.study.providers.llm import LlmClient, LlmError, StreamEnd, chat_client
from studyhall.study.service import quota
from studyhall.study.service.listing import keyset_page
from studyhall.study.service.materials import get_owned
from studyhall.study.service.quota import OFFLINE_MODEL, Reservation, UsageCall
from studyhall.study.service.retrieval import RetrievedChunk, embed_query, search

TOP_K = 6
HISTORY_MESSAGES = 6
RELATED = 3
SNIPPET_CHARS = 240


async def create_thread(
    session: AsyncSession,
    user: User,
    title: str | None,
    topic_id: uuid.UUID | None,
    material_id: uuid.UUID | None = None,
) -> ChatThread:
    """A thread about one of the user's materials answers from it unless a question names its
    own materials (404 ``material_not_found`` for a material that is not theirs)."""
    if material_id is not None:
        await get_owned(session, user.id, material_id)
    thread = ChatThread(user_id=user.id, title=title, topic_id=topic_id, material_id=material_id)
    session.add(thread)
    await session.flush()
    await audit.record(session, user.id, "chat_thread.create", "chat_thread", thread.id)
    return thread


async def get_thread(session: AsyncSession, user_id: uuid.UUID, thread_id: uuid.UUID) -> ChatThread:
    thread = await session.get(ChatThread, thread_id)
    if thread is None or thread.user_id != user_id or thread.deleted_at is not None:
        raise NotFound("No such chat thread.", code="thread_not_found")
    return thread


async def list_threads(
    session: AsyncSession,
    user_id: uuid.UUID,
    page: PageRequest,
    material_id: uuid.UUID | None = None,
) -> tuple[list[ChatThread], str | None]:
    """The user's threads (those about one material, when given), most recently active first."""
    query = select(ChatThread).where(ChatThread.user_id == user_id, ChatThread.deleted_at.is_(None))
    if material_id is not None:
        query = query.where(ChatThread.material_id == material_id)
    return await keyset_page(
        session,
        query,
        (ChatThread.updated_at, ChatThread.id),
        page,
        lambda t: (t.updated_at, t.id),
    )


async def delete_thread(session: AsyncSession, user: User, thread_id: uuid.UUID) -> None:
    thread = await get_thread(session, user.id, thread_id)
    thread.deleted_at = datetime.now(UTC)
    await audit.record(session, user.id, "chat_thread.delete", "chat_thread", thread.id)


# A question and its answer may share a timestamp (one transaction): the question comes first.
_ROLES = {"user": 0, "system": 1, "assistant": 2}
_ROLE_ORDER = case(_ROLES, value=ChatMessage.role, else_=len(_ROLES))


async def messages(
    session: AsyncSession, thread_id: uuid.UUID, page: PageRequest
) -> tuple[list[ChatMessage], str | None]:
    """The thread's messages in the order they were written, oldest first."""
    columns: tuple[Any, ...] = (ChatMessage.created_at, _ROLE_ORDER, ChatMessage.id)
    query = select(ChatMessage).where(ChatMessage.thread_id == thread_id)
    condition = after(columns, page.key(datetime, int, uuid.UUID))
    if condition is not None:
        query = query.where(condition)
    rows = (await session.scalars(query.order_by(*columns).limit(page.limit + 1))).all()
    return page.of(rows, lambda m: (m.created_at, _ROLES.get(m.role, len(_ROLES)), m.id))


async def _recent_messages(
    session: AsyncSession, thread_id: uuid.UUID, count: int
) -> list[ChatMessage]:
    """The thread's last ``count`` messages, oldest first: the history a model is shown."""
    columns = (ChatMessage.created_at, _ROLE_ORDER, ChatMessage.id)
    newest = (
        await session.scalars(
            select(ChatMessage)
            .where(ChatMessage.thread_id == thread_id)
            .order_by(*(c.desc() for c in columns))
            .limit(count)
        )
    ).all()
    return list(reversed(newest))


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
    return await save_answer(database, turn, await answer(settings, turn))


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
        for m in await _recent_messages(session, thread.id, HISTORY_MESSAGES)
    ]
    asked = ChatMessage(thread_id=thread.id, user_id=user.id, role="user", content=question)
    session.add(asked)
    await session.flush()
    await events.emit(session, QuestionAsked(user_id=user.id, message_id=asked.id))
    if material_ids is None and thread.material_id is not None:
        material_ids = [thread.material_id]
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


@dataclass
class Reply:
    """An answer ready to store: its text, the chunks it cites, and, when the materials do not
    answer the question, the nearest passages offered as related reading instead."""

    text: str
    citations: list[dict[str, Any]]
    engine: str
    model: str
    related: list[dict[str, Any]] = field(default_factory=list)


def evidence(turn: Turn) -> float:
    """The most of the question's IDF mass any retrieved chunk holds."""
    return max((chunk.coverage for chunk in turn.chunks), default=0.0)


def related_passages(chunks: Sequence[RetrievedChunk]) -> list[dict[str, Any]]:
    return [
        {**_citation(chunk, n), "quote": None, "snippet": _snippet(chunk.text)}
        for n, chunk in enumerate(chunks[:RELATED], start=1)
    ]


def _snippet(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= SNIPPET_CHARS else flat[: SNIPPET_CHARS - 1].rstrip() + "…"


def not_found(turn: Turn) -> Reply:
    """The honest answer when the evidence is weak: nothing quoted, the nearest passages named."""
    return Reply(NOT_FOUND, [], "offline", OFFLINE_MODEL, related_passages(turn.chunks))


def offline_answer(turn: Turn) -> Reply:
    by_id = {str(c.id): c for c in turn.chunks}
    answer = answer_question(turn.question, [c.to_passage() for c in turn.chunks])
    if not answer.grounded:
        return not_found(turn)
    citations = [
        _citation(by_id[quote.citations[0].chunk_id], n, quote.text)
        for n, quote in enumerate(answer.quotes, start=1)
    ]
    return Reply(answer.text, citations, "offline", OFFLINE_MODEL)


def grounded_citations(
    grounded: Grounded, chunks: Sequence[RetrievedChunk]
) -> list[dict[str, Any]]:
    """The citation of every marker the grounded text keeps; ``[n]`` names the n-th chunk."""
    return [_citation(chunks[n - 1], n) for n in sorted(grounded.markers)]


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


def _offline_reply(turn: Turn) -> Reply:
    """Quote the sources; the run is counted as engine usage, not model tokens."""
    reply = offline_answer(turn)
    prompt = count_tokens(turn.question) + sum(count_tokens(c.text) for c in turn.chunks)
    turn.calls.append(UsageCall(OFFLINE_MODEL, prompt, count_tokens(reply.text)))
    return reply


def _model_reply(turn: Turn, grounded: Grounded, model: str) -> Reply | None:
    """The model's answer if at least one of its sentences cites a retrieved chunk."""
    if not grounded.text:
        return None
    return Reply(grounded.text, grounded_citations(grounded, turn.chunks), "llm", model)


def needs_no_model(turn: Turn) -> bool:
    """Weak evidence is answered "not found" without asking a model to write around it."""
    return evidence(turn) < ABSTAIN_BELOW


async def answer(settings: Settings, turn: Turn) -> Reply:
    """A failing model, or one whose every sentence is uncited, falls back to quoting."""
    if needs_no_model(turn):
        return not_found(turn)
    client = chat_client(settings)
    if client is not None:
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
            grounded = ground(result.content, [str(c.id) for c in turn.chunks])
            reply = _model_reply(turn, grounded, result.model)
            if reply is not None:
                return reply
    return _offline_reply(turn)


async def save_answer(database: Database, turn: Turn, reply: Reply) -> ChatMessage:
    """Store the reply and settle the quota, in a transaction of its own."""
    async with database.transaction(turn.thread.user_id) as session:
        turn.thread = await session.merge(turn.thread)
        return await _finish(session, turn, reply)


async def _finish(session: AsyncSession, turn: Turn, reply: Reply) -> ChatMessage:
    message = ChatMessage(
        thread_id=turn.thread.id,
        user_id=turn.thread.user_id,
        role="assistant",
        content=reply.text,
        citations=reply.citations,
        related=reply.related,
        engine=reply.engine,
        model_name=reply.model,
        created_at=datetime.now(UTC),
    )
    session.add(message)
    turn.thread.updated_at = datetime.now(UTC)
    await session.flush()
    await quota.settle(session, turn.reservation.id, turn.calls, thread_id=turn.thread.id)
    await audit.record(
        session,
        turn.thread.user_id,
        "chat_message.answer",
        "chat_message",
        message.id,
        {"engine": reply.engine, "citations": len(reply.citations), "found": not reply.related},
    )
    return message


async def _stream_model(
    settings: Settings, turn: Turn, client: LlmClient
) -> AsyncIterator[dict[str, Any] | Reply]:
    """Stream only grounded sentences; yield the model's reply last (nothing if it failed)."""
    gate = SentenceGate([str(c.id) for c in turn.chunks])
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
                grounded, diverged = gate.finish()
                reply = _model_reply(turn, grounded, item.model)
                if reply is None:
                    if gate.released:
                        yield {"event": "reset", "data": {"reason": "no sentence cited a source"}}
                    return
                if diverged:
                    yield {"event": "replace", "data": {"text": grounded.text}}
                elif rest := grounded.text[len(gate.released) :]:
                    yield {"event": "token", "data": {"text": rest}}
                yield reply
                return
            parts.append(item)
            if released := gate.feed(item):
                yield {"event": "token", "data": {"text": released}}
    except LlmError as exc:
        turn.calls.append(
            UsageCall(client.model, 0, count_tokens("".join(parts)), "failed", exc.message)
        )
        yield {"event": "reset", "data": {"reason": exc.message}}


async def stream(
    database: Database, settings: Settings, turn: Turn, client: LlmClient | None
) -> AsyncIterator[dict[str, Any]]:
    """Server-sent events: ``token`` deltas of checked sentences only (each cites a retrieved
    chunk), ``replace`` with the whole final text if what was sent is not its beginning,
    ``reset`` if the model fails midway (the offline answer follows), then ``done``."""
    reply: Reply | None = None
    if needs_no_model(turn):
        reply = not_found(turn)
        yield {"event": "token", "data": {"text": reply.text}}
    elif client is not None:
        async for item in _stream_model(settings, turn, client):
            if isinstance(item, Reply):
                reply = item
            else:
                yield item
    if reply is None:
        reply = _offline_reply(turn)
        yield {"event": "token", "data": {"text": reply.text}}
    message = await save_answer(database, turn, reply)
    done = {
        "id": str(message.id),
        "thread_id": str(message.thread_id),
        "role": message.role,
        "content": message.content,
        "citations": message.citations,
        "related": message.related,
        "engine": message.engine,
        "model_name": message.model_name,
    }
    yield {"event": "done", "data": done}


def answer_stream(
    database: Database, settings: Settings, turn: Turn
) -> AsyncIterator[dict[str, Any]]:
    """``stream`` with the configured model (none: the offline answer), as a streaming route
    sends it."""
    return stream(database, settings, turn, chat_client(settings))
