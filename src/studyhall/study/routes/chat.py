"""Chat: threads, their messages, and questions answered from one's materials."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from sse_starlette.sse import EventSourceResponse

from studyhall.accounts.deps import CurrentUser, CurrentUserDetached
from studyhall.db.deps import AppDatabase, Session
from studyhall.kit.paging import PageQuery
from studyhall.kit.times import json_default
from studyhall.study.providers.llm import chat_client
from studyhall.study.routes.deps import AppSettings
from studyhall.study.schemas import (
    MessageCreate,
    MessagePage,
    MessageRead,
    ThreadCreate,
    ThreadPage,
    ThreadRead,
)
from studyhall.study.service import chat

router = APIRouter()


@router.post(
    "/chat/threads",
    status_code=status.HTTP_201_CREATED,
    response_model=ThreadRead,
    summary="Start a chat thread",
)
async def chat_threads_create(body: ThreadCreate, user: CurrentUser, session: Session) -> Any:
    """A new thread, optionally about a topic, or about one of your materials (its questions
    then answer from that material unless they name their own ``material_ids``)."""
    thread = await chat.create_thread(session, user, body.title, body.topic_id, body.material_id)
    await session.refresh(thread)
    return thread


@router.get("/chat/threads", response_model=ThreadPage, summary="List my chat threads")
async def chat_threads_list(
    user: CurrentUser,
    session: Session,
    page: PageQuery,
    material_id: Annotated[uuid.UUID | None, Query()] = None,
) -> Any:
    """Your threads, most recently active first; with ``material_id``, those about it."""
    items, next_cursor = await chat.list_threads(session, user.id, page, material_id)
    return ThreadPage(items=[ThreadRead.model_validate(t) for t in items], next_cursor=next_cursor)


@router.delete(
    "/chat/threads/{thread_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a chat thread",
)
async def chat_thread_delete(thread_id: uuid.UUID, user: CurrentUser, session: Session) -> None:
    """Remove the thread and its messages from your list."""
    await chat.delete_thread(session, user, thread_id)


@router.get(
    "/chat/threads/{thread_id}/messages",
    response_model=MessagePage,
    summary="List the messages of a chat thread",
)
async def chat_messages_list(
    thread_id: uuid.UUID, user: CurrentUser, session: Session, page: PageQuery
) -> Any:
    """The thread's questions and answers in the order they were written, oldest first."""
    thread = await chat.get_thread(session, user.id, thread_id)
    items, next_cursor = await chat.messages(session, thread.id, page)
    return MessagePage(
        items=[MessageRead.model_validate(m) for m in items], next_cursor=next_cursor
    )


@router.post(
    "/chat/threads/{thread_id}/messages",
    status_code=status.HTTP_201_CREATED,
    response_model=MessageRead,
    summary="Ask a question in a chat thread",
)
async def chat_messages_create(
    thread_id: uuid.UUID,
    body: MessageCreate,
    settings: AppSettings,
    user: CurrentUserDetached,
    database: AppDatabase,
) -> Any:
    """Ask a question; the answer is grounded in your materials and cites them, or says that
    they do not hold it and offers related passages."""
    return await chat.ask(database, settings, user, thread_id, body.content, body.material_ids)


@router.post(
    "/chat/threads/{thread_id}/messages/stream",
    summary="Ask a question and stream the answer",
)
async def chat_messages_stream(
    thread_id: uuid.UUID,
    body: MessageCreate,
    settings: AppSettings,
    user: CurrentUserDetached,
    database: AppDatabase,
) -> EventSourceResponse:
    """Like the plain ask, as server-sent events: ``token`` …, then ``done`` with the message."""
    turn = await chat.open_turn(
        database, settings, user, thread_id, body.content, body.material_ids
    )
    # The question commits before the body streams; the stream saves the answer in a
    # transaction of its own.
    events = chat.stream(database, settings, turn, chat_client(settings))
    return EventSourceResponse(_json_events(events))


async def _json_events(events: AsyncIterator[dict[str, Any]]) -> AsyncIterator[dict[str, str]]:
    async for event in events:
        yield {"event": event["event"], "data": json.dumps(event["data"], default=json_default)}
