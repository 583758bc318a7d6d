"""Asking about one's notes, as conversations. A question asked from a material's page starts a
thread about that material; the page lists the earlier threads about it, and each opens as a
conversation (`/study/chats/{id}`: every question and answer with their sources) where the next
question goes on in the same thread, answered from the same material (the chat service's rule
for a thread about a material).

The page's script streams each answer in (``.../ask/stream``, the chat service's server-sent
events, signed in with the session cookie); without a script the form posts and the answer
comes back as a page. Both end with the answer in Markdown and its numbered sources, each a link
to the cited page. Asking runs in the chat service's own short transactions around the model
call, so those routes are signed in detached.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncSession
from sse_starlette import EventSourceResponse
from starlette.responses import RedirectResponse, Response

from studyhall.db.deps import Session, get_database
from studyhall.kit.errors import DomainError, Unprocessable
from studyhall.kit.paging import PageRequest
from studyhall.kit.times import json_default
from studyhall.study import service as study
from studyhall.web.deps import DetachedMemberPage, MemberPage
from studyhall.web.rendering import Visit, render, render_fragment

router = APIRouter()

# The threads about a material listed on its page, newest activity first.
THREADS_SHOWN = 20
# A conversation's messages drawn on its page (a question and its answer are two).
MESSAGES_SHOWN = 200


async def threads_about(
    session: AsyncSession, user_id: uuid.UUID, material_id: uuid.UUID
) -> list[Any]:
    """The learner's threads about this material, for its page."""
    rows, _ = await study.list_threads(
        session, user_id, PageRequest(limit=THREADS_SHOWN, cursor=None), material_id
    )
    return rows


async def _question(request: Request) -> str:
    form = await request.form()
    question = str(form.get("question", "")).strip()[:2000]
    if not question:
        raise Unprocessable("Write a question first.", code="question_required")
    return question


async def _new_thread(
    request: Request, page: Visit, material_id: uuid.UUID, question: str
) -> tuple[str, uuid.UUID]:
    """A thread about this material, titled by its first question: the material's file name and
    the thread's id (plain values; the transaction ends here)."""
    assert page.user is not None
    async with get_database(request).transaction(page.user.id) as session:
        material = await study.get_material(session, page.user.id, material_id)
        thread = await study.create_thread(session, page.user, question[:200], None, material_id)
        return material.file_name, thread.id


async def _material_name(session: AsyncSession, user_id: uuid.UUID, thread: Any) -> str:
    """The file the thread is about, or "" (a thread from the API, or its material erased)."""
    if thread.material_id is None:
        return ""
    try:
        return (await study.get_material(session, user_id, thread.material_id)).file_name
    except DomainError:
        return ""


@router.post("/study/materials/{material_id}/ask", include_in_schema=False)
async def ask(material_id: uuid.UUID, request: Request, page: DetachedMemberPage) -> Response:
    """The whole answer as a page: what the form does without a script."""
    assert page.user is not None
    question = await _question(request)
    material_name, thread_id = await _new_thread(request, page, material_id, question)
    reply = await study.ask(
        get_database(request),
        request.app.state.settings,
        page.user,
        thread_id,
        question,
        [material_id],
    )
    return render(
        page,
        "study_answer.html",
        material_id=material_id,
        material_name=material_name,
        question=question,
        thread_id=thread_id,
        reply=_reply(reply),
    )


@router.post("/study/materials/{material_id}/ask/stream", include_in_schema=False)
async def ask_streamed(
    material_id: uuid.UUID, request: Request, page: DetachedMemberPage
) -> EventSourceResponse:
    """The same question answered as server-sent events for the page's script: the chat
    service's ``token``, ``replace`` and ``reset`` events as they come, then ``done`` carrying
    the answer drawn as the page without a script draws it (with a link to go on with the
    conversation). The question and its sources are stored before the stream starts (a
    refusal is still an error page); the answer is stored when it ends, in a transaction of its
    own."""
    assert page.user is not None
    question = await _question(request)
    material_name, thread_id = await _new_thread(request, page, material_id, question)
    database, settings = get_database(request), request.app.state.settings
    turn = await study.open_turn(database, settings, page.user, thread_id, question, [material_id])
    events = study.answer_stream(database, settings, turn)
    return EventSourceResponse(_page_events(page, events, material_id, material_name, thread_id))


@router.get("/study/chats/{thread_id}", include_in_schema=False)
async def conversation_page(thread_id: uuid.UUID, page: MemberPage, session: Session) -> Response:
    """The thread's questions and answers, oldest first, and the form to ask the next one."""
    assert page.user is not None
    thread = await study.get_thread(session, page.user.id, thread_id)
    rows, more = await study.thread_messages(
        session, thread.id, PageRequest(limit=MESSAGES_SHOWN, cursor=None)
    )
    return render(
        page,
        "study_chat.html",
        thread=thread,
        material_name=await _material_name(session, page.user.id, thread),
        messages=[_shown(row) for row in rows if row.role in ("user", "assistant")],
        more=more is not None,
    )


@router.post("/study/chats/{thread_id}/ask", include_in_schema=False)
async def ask_in_thread(
    thread_id: uuid.UUID, request: Request, page: DetachedMemberPage
) -> Response:
    """Without a script: the question is answered, then the conversation is drawn again."""
    assert page.user is not None
    question = await _question(request)
    await study.ask(
        get_database(request), request.app.state.settings, page.user, thread_id, question, None
    )
    return RedirectResponse(f"/study/chats/{thread_id}#latest", status_code=303)


@router.post("/study/chats/{thread_id}/ask/stream", include_in_schema=False)
async def ask_in_thread_streamed(
    thread_id: uuid.UUID, request: Request, page: DetachedMemberPage
) -> EventSourceResponse:
    """As on a material's page, in this thread: no materials named, so a thread about a
    material answers from it."""
    assert page.user is not None
    question = await _question(request)
    database, settings = get_database(request), request.app.state.settings
    turn = await study.open_turn(database, settings, page.user, thread_id, question, None)
    material_id = turn.thread.material_id
    async with database.transaction(page.user.id) as session:
        material_name = await _material_name(session, page.user.id, turn.thread)
    events = study.answer_stream(database, settings, turn)
    return EventSourceResponse(_page_events(page, events, material_id, material_name, None))


async def _page_events(
    page: Visit,
    events: AsyncIterator[dict[str, Any]],
    material_id: uuid.UUID | None,
    material_name: str,
    thread_id: uuid.UUID | None,
) -> AsyncIterator[dict[str, str]]:
    async for event in events:
        data = event["data"]
        if event["event"] == "done":
            html = render_fragment(
                page,
                "_study_reply.html",
                material_id=material_id,
                material_name=material_name,
                thread_id=thread_id,
                reply=_reply_of(data),
            )
            data = {"id": data["id"], "html": html}
        yield {"event": event["event"], "data": json.dumps(data, default=json_default)}


def _shown(message: Any) -> dict[str, Any]:
    return {
        "id": message.id,
        "role": message.role,
        "created_at": message.created_at,
        "reply": _reply(message),
    }


def _reply(message: Any) -> dict[str, Any]:
    """Plain values: the message row belongs to a transaction that has ended."""
    return _reply_of(
        {"content": message.content, "citations": message.citations, "related": message.related}
    )


def _reply_of(done: dict[str, Any]) -> dict[str, Any]:
    """What the answer's fragment shows, from the stream's ``done`` event (or a stored reply)."""
    return {
        "content": done["content"],
        "citations": list(done["citations"]),
        "related": list(done["related"]),
    }
