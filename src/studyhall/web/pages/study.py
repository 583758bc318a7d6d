"""The study assistant: upload notes and watch them being processed, read a summary whose
citations open the source page, review flashcards (FSRS ratings, keys 1-4), take a quiz and see
the explanations. Asking about the notes, and the conversations that come of it, are in
``study_chat``; a material's page lists its conversations.

Each action calls the study service as the API's route does.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse, Response

from studyhall.db.deps import Session, get_database
from studyhall.kit.errors import Unprocessable
from studyhall.kit.paging import PageRequest
from studyhall.study import service as study
from studyhall.web.deps import MemberPage
from studyhall.web.messages import notice
from studyhall.web.pages.study_chat import threads_about
from studyhall.web.rendering import render

router = APIRouter()

LIST_PAGE = 50
ARTIFACT_ITEMS = {"summary": 5, "flashcards": 8, "quiz": 5}
RATINGS = (1, 2, 3, 4)
BUSY = frozenset({"pending", "processing"})
NO_FAIR_QUESTIONS = "quiz_no_fair_questions"
Notice = Annotated[str | None, Query(alias="notice", max_length=40)]


def _refresh_when_done(busy: bool) -> dict[str, str]:
    """The polling fragment asks htmx to reload the whole page once the work is done."""
    return {} if busy else {"HX-Refresh": "true"}


@router.get("/study", include_in_schema=False)
async def study_home(page: MemberPage, session: Session, notice_key: Notice = None) -> Response:
    assert page.user is not None
    materials, _ = await study.list_materials(
        session, page.user.id, PageRequest(limit=LIST_PAGE, cursor=None)
    )
    due = await study.due_cards(session, page.user.id, datetime.now(UTC), LIST_PAGE)
    return render(
        page,
        "study.html",
        materials=materials,
        due_count=len(due),
        notice=notice(page.viewer, notice_key),
    )


@router.post("/study/materials", include_in_schema=False)
async def upload(request: Request, page: MemberPage, session: Session) -> Response:
    assert page.user is not None
    settings = request.app.state.settings
    form = await request.form()
    file = form.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        raise Unprocessable("Choose a file to upload.", code="file_required")
    limit = settings.study_max_upload_bytes
    # One byte past the limit tells a file too large without reading all of it.
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise study.file_too_large(limit)
    material = await study.upload_material(
        session, settings, page.user, file.filename, data, "notes"
    )
    return RedirectResponse(f"/study/materials/{material.id}", status_code=303)


@router.get("/study/materials/{material_id}", include_in_schema=False)
async def material_page(
    material_id: uuid.UUID, page: MemberPage, session: Session, notice_key: Notice = None
) -> Response:
    assert page.user is not None
    material = await study.get_material(session, page.user.id, material_id)
    made, _ = await study.list_artifacts(
        session, page.user.id, PageRequest(limit=LIST_PAGE, cursor=None)
    )
    return render(
        page,
        "study_material.html",
        material=material,
        busy=material.processing_status in BUSY,
        artifacts=[artifact for artifact in made if artifact.material_id == material.id],
        threads=await threads_about(session, page.user.id, material.id),
        notice=notice(page.viewer, notice_key),
    )


@router.get("/study/materials/{material_id}/status", include_in_schema=False)
async def material_status(material_id: uuid.UUID, page: MemberPage, session: Session) -> Response:
    assert page.user is not None
    material = await study.get_material(session, page.user.id, material_id)
    busy = material.processing_status in BUSY
    answer = render(page, "_study_progress.html", url=page.request.url.path, busy=busy)
    answer.headers.update(_refresh_when_done(busy))
    return answer


@router.get("/study/materials/{material_id}/file", include_in_schema=False)
async def material_file(
    material_id: uuid.UUID, request: Request, page: MemberPage, session: Session
) -> Response:
    """The uploaded file as it was (one's own, or a course's material one may read); a citation
    links to ``#page=N``, which PDF viewers open at that page."""
    assert page.user is not None
    material = await study.get_readable_material(session, page.user.id, material_id)
    data = await study.get_storage(request.app.state.settings).get(material.storage_key)
    return Response(
        data,
        media_type=material.mime_type,
        headers={"Content-Disposition": "inline", "X-Content-Type-Options": "nosniff"},
    )


@router.post("/study/materials/{material_id}/artifacts", include_in_schema=False)
async def make_artifact(
    material_id: uuid.UUID, request: Request, page: MemberPage, session: Session
) -> Response:
    assert page.user is not None
    form = await request.form()
    kind = str(form.get("type", ""))
    if kind not in ARTIFACT_ITEMS:
        raise Unprocessable("Choose what to make.", code="artifact_type_required")
    artifact = await study.create_artifact(
        session,
        get_database(request),
        request.app.state.settings,
        page.user,
        kind,  # type: ignore[arg-type]
        ARTIFACT_ITEMS[kind],
        material_id=material_id,
    )
    return RedirectResponse(f"/study/artifacts/{artifact.id}", status_code=303)


@router.get("/study/artifacts/{artifact_id}", include_in_schema=False)
async def artifact_page(artifact_id: uuid.UUID, page: MemberPage, session: Session) -> Response:
    assert page.user is not None
    artifact = await study.get_artifact(session, page.user.id, artifact_id)
    quizzes = await study.quizzes_of(session, [artifact.id])
    material = (
        None
        if artifact.material_id is None
        else await study.get_material(session, page.user.id, artifact.material_id)
    )
    # A quiz refused for want of fair questions sends the learner to the notes' flashcards.
    deck = (
        await study.deck_of(session, page.user.id, material.id)
        if material is not None and artifact.error_code == NO_FAIR_QUESTIONS
        else None
    )
    return render(
        page,
        "study_artifact.html",
        artifact=artifact,
        busy=artifact.status in BUSY,
        quiz_id=quizzes.get(artifact.id),
        material_name=None if material is None else material.file_name,
        deck_id=None if deck is None else deck.id,
    )


@router.get("/study/artifacts/{artifact_id}/status", include_in_schema=False)
async def artifact_status(artifact_id: uuid.UUID, page: MemberPage, session: Session) -> Response:
    assert page.user is not None
    artifact = await study.get_artifact(session, page.user.id, artifact_id)
    busy = artifact.status in BUSY
    answer = render(page, "_study_progress.html", url=page.request.url.path, busy=busy)
    answer.headers.update(_refresh_when_done(busy))
    return answer


@router.get("/study/review", include_in_schema=False)
async def review_page(page: MemberPage, session: Session, notice_key: Notice = None) -> Response:
    assert page.user is not None
    due = await study.due_cards(session, page.user.id, datetime.now(UTC), LIST_PAGE)
    return render(
        page,
        "study_review.html",
        card=due[0] if due else None,
        remaining=len(due),
        ratings=RATINGS,
        notice=notice(page.viewer, notice_key),
    )


@router.post("/study/review/{card_id}", include_in_schema=False)
async def review(
    card_id: uuid.UUID, request: Request, page: MemberPage, session: Session
) -> Response:
    assert page.user is not None
    form = await request.form()
    rating = str(form.get("rating", ""))
    if rating not in {str(value) for value in RATINGS}:
        raise Unprocessable("Choose how well you remembered.", code="rating_required")
    await study.review_card(session, page.user, card_id, int(rating), None)
    return RedirectResponse("/study/review?notice=card_reviewed", status_code=303)


@router.get("/study/quizzes/{quiz_id}", include_in_schema=False)
async def quiz_page(quiz_id: uuid.UUID, page: MemberPage, session: Session) -> Response:
    assert page.user is not None
    quiz = await study.get_quiz(session, page.user.id, quiz_id)
    questions = await study.quiz_questions(session, quiz.id)
    return render(page, "study_quiz.html", quiz=quiz, questions=questions, results=None)


@router.post("/study/quizzes/{quiz_id}", include_in_schema=False)
async def quiz_submit(
    quiz_id: uuid.UUID, request: Request, page: MemberPage, session: Session
) -> Response:
    """One attempt started and scored at once: the page holds the answers until submitted."""
    assert page.user is not None
    quiz = await study.get_quiz(session, page.user.id, quiz_id)
    questions = await study.quiz_questions(session, quiz.id)
    form = await request.form()
    answers = {
        question.id: str(form.get(f"q-{question.id}", ""))
        for question in questions
        if form.get(f"q-{question.id}")
    }
    attempt = await study.start_attempt(session, page.user, quiz.id)
    attempt, questions = await study.submit_attempt(session, page.user, attempt.id, answers)
    chosen = {str(key): value for key, value in attempt.answers.items()}
    return render(
        page,
        "study_quiz.html",
        quiz=quiz,
        questions=questions,
        results={"attempt": attempt, "chosen": chosen},
    )
