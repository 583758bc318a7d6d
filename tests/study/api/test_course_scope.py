"""Course materials in the study scope, and quizzes from a topic.

A tutor's lesson PDF is a study material; a learner with access to the lesson's course retrieves,
chats over and generates artifacts from it, loses it with the access, and never reaches another
learner's private uploads.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from studyhall.db.engine import Database, set_current_user
from studyhall.study.engine.answer import NOT_FOUND
from studyhall.study.models import (
    AiArtifact,
    AiQuotaReservation,
    Material,
    MaterialChunk,
    Quiz,
    QuizQuestion,
)
from tests.conftest import run_jobs
from tests.courses.helpers import Actor, count, make_admin, post, product, sign_up
from tests.study.api.conftest import API
from tests.study.api.docs import PHOTOSYNTHESIS, VOLCANOES, make_pdf
from tests.study.api.fake_llm import FakeState

RUBISCO = "Rubisco is the enzyme that captures carbon dioxide in the Calvin cycle."
QUESTION = "Which enzyme captures carbon dioxide in the Calvin cycle?"


async def _upload(client: httpx.AsyncClient, actor: Actor, name: str, data: bytes) -> str:
    response = await client.post(
        f"{API}/materials",
        headers=actor.headers,
        files={"file": (name, data, "application/octet-stream")},
        data={"origin": "slides"},
    )
    assert response.status_code == 201, response.text
    await run_jobs()
    material: dict[str, Any] = (
        await client.get(f"{API}/materials/{response.json()['id']}", headers=actor.headers)
    ).json()
    assert material["processing_status"] == "completed"
    return str(material["id"])


async def _topic(client: httpx.AsyncClient, admin: Actor, name: str) -> str:
    subject = await post(client, f"{API}/subjects", admin, {"name": f"Biology {uuid.uuid4()}"})
    topic = await post(client, f"{API}/subjects/{subject['id']}/topics", admin, {"name": name})
    return str(topic["id"])


def _pdf_lesson(material_id: str, topic_id: str | None = None, status: str = "public") -> Any:
    return {
        "title": "Photosynthesis slides",
        "status": status,
        "content_type": "pdf",
        "material_id": material_id,
        "topic_id": topic_id,
    }


@dataclass
class World:
    admin: Actor
    tutor: Actor
    student: Actor
    course_id: str
    section_id: str
    lesson_id: str
    material_id: str
    topic_id: str
    product_id: str


async def _world(client: httpx.AsyncClient, owner_db: Database) -> World:
    """A tutor's course whose public lesson is a PDF (volcanoes p.1, photosynthesis p.2) tagged
    with a topic, sold in a free product; the student has not bought it yet."""
    admin = await make_admin(client, owner_db)
    tutor = await sign_up(client, "tutor")
    student = await sign_up(client)
    material_id = await _upload(client, tutor, "bio.pdf", make_pdf([VOLCANOES, PHOTOSYNTHESIS]))
    topic_id = await _topic(client, admin, "Photosynthesis")
    course = await post(client, f"{API}/courses", tutor, {"title": "Bio", "description": "Cells."})
    section = await post(
        client, f"{API}/courses/{course['id']}/sections", tutor, {"name": "1", "status": "public"}
    )
    lesson = await post(
        client, f"{API}/sections/{section['id']}/lessons", tutor, _pdf_lesson(material_id, topic_id)
    )
    assert lesson["material_id"] == material_id
    free = await product(client, admin, [course["id"]], price_cents=0)
    return World(
        admin,
        tutor,
        student,
        course["id"],
        section["id"],
        lesson["id"],
        material_id,
        topic_id,
        free["id"],
    )


async def _search(client: httpx.AsyncClient, actor: Actor, query: str) -> list[dict[str, Any]]:
    response = await client.post(f"{API}/search", headers=actor.headers, json={"query": query})
    assert response.status_code == 200, response.text
    hits: list[dict[str, Any]] = response.json()
    return hits


async def _ask(client: httpx.AsyncClient, actor: Actor, question: str) -> dict[str, Any]:
    thread = await post(client, f"{API}/chat/threads", actor, {"title": "Bio"})
    reply: dict[str, Any] = await post(
        client, f"{API}/chat/threads/{thread['id']}/messages", actor, {"content": question}
    )
    return reply


async def _buy(client: httpx.AsyncClient, world: World) -> str:
    body = await post(client, f"{API}/products/{world.product_id}/checkout", world.student, None)
    assert body["purchase"]["status"] == "paid"
    return str(body["purchase"]["id"])


async def _artifact(
    client: httpx.AsyncClient, actor: Actor, body: dict[str, Any], code: int = 202
) -> dict[str, Any]:
    response = await client.post(f"{API}/artifacts", headers=actor.headers, json=body)
    assert response.status_code == code, response.text
    result: dict[str, Any] = response.json()
    return result


async def _artifacts_of(owner_db: Database, user_id: uuid.UUID) -> int:
    async with owner_db.transaction() as session:
        query = select(func.count()).select_from(AiArtifact).where(AiArtifact.user_id == user_id)
        return int(await session.scalar(query) or 0)


async def _chunks_seen_as(db: Database, user_id: uuid.UUID, owner_id: uuid.UUID) -> int:
    """Chunks of ``owner_id`` that row level security shows to ``user_id`` (no app filter)."""
    async with db.transaction() as session:
        await set_current_user(session, user_id)
        query = select(func.count()).select_from(MaterialChunk)
        return int(await session.scalar(query.where(MaterialChunk.user_id == owner_id)) or 0)


async def test_access_brings_course_material_into_scope_and_a_refund_takes_it_away(
    client: httpx.AsyncClient, owner_db: Database, db: Database
) -> None:
    world = await _world(client, owner_db)
    student = world.student
    chunks = await count(
        owner_db, "SELECT count(*) FROM material_chunks WHERE material_id = :m", m=world.material_id
    )
    assert chunks > 0

    # No access yet: nothing is retrieved, and the material cannot be used for artifacts.
    assert await _search(client, student, "chlorophyll Calvin cycle Rubisco") == []
    assert await _chunks_seen_as(db, student.id, world.tutor.id) == 0
    refused = await _artifact(
        client, student, {"type": "quiz", "material_id": world.material_id}, 404
    )
    assert refused["code"] == "material_not_found"

    purchase_id = await _buy(client, world)
    hits = await _search(client, student, "chlorophyll Calvin cycle Rubisco")
    assert hits and {(h["material_id"], h["file_name"]) for h in hits} == {
        (world.material_id, "bio.pdf")
    }
    assert RUBISCO in hits[0]["text"] and hits[0]["page"] == 2
    assert await _chunks_seen_as(db, student.id, world.tutor.id) == chunks

    reply = await _ask(client, student, QUESTION)
    assert reply["content"].startswith(f"“{RUBISCO}” [1]")
    first = reply["citations"][0]
    assert (first["material_id"], first["file_name"], first["page"], first["quote"]) == (
        world.material_id,
        "bio.pdf",
        2,
        RUBISCO,
    )
    async with owner_db.transaction() as session:
        chunk = await session.get(MaterialChunk, uuid.UUID(first["chunk_id"]))
    assert chunk is not None
    assert (str(chunk.material_id), chunk.page_number) == (world.material_id, 2)
    assert RUBISCO in chunk.chunk_text

    summary = await _artifact(
        client, student, {"type": "summary", "material_id": world.material_id, "max_items": 2}
    )
    await run_jobs()
    done = (await client.get(f"{API}/artifacts/{summary['id']}", headers=student.headers)).json()
    assert (done["status"], done["material_id"], done["topic_id"]) == (
        "completed",
        world.material_id,
        None,
    )
    cited = {c["material_id"] for s in done["payload"]["sentences"] for c in s["citations"]}
    assert cited == {world.material_id}

    # A request queued before the refund finds the access gone when its job runs.
    queued = await _artifact(client, student, {"type": "quiz", "material_id": world.material_id})
    await post(client, f"{API}/purchases/{purchase_id}/refund", student, None, 200)
    await run_jobs()
    failed = (await client.get(f"{API}/artifacts/{queued['id']}", headers=student.headers)).json()
    assert (failed["status"], failed["error"]) == (
        "failed",
        "the material was deleted or is no longer accessible",
    )
    async with owner_db.transaction() as session:
        open_reservations = await session.scalar(
            select(func.count())
            .select_from(AiQuotaReservation)
            .where(
                AiQuotaReservation.user_id == student.id, AiQuotaReservation.status == "reserved"
            )
        )
    assert open_reservations == 0

    assert await _search(client, student, "chlorophyll Calvin cycle Rubisco") == []
    assert await _chunks_seen_as(db, student.id, world.tutor.id) == 0
    after = await _ask(client, student, QUESTION)
    assert (after["content"], after["citations"]) == (NOT_FOUND, [])
    before = await _artifacts_of(owner_db, student.id)
    again = await _artifact(
        client, student, {"type": "quiz", "material_id": world.material_id}, 404
    )
    assert again["code"] == "material_not_found"
    assert await _artifacts_of(owner_db, student.id) == before

    # The owner still finds it as their own material.
    own = await _search(client, world.tutor, "Rubisco")
    assert {h["material_id"] for h in own} == {world.material_id}


async def test_private_uploads_and_unpublished_lessons_stay_out_of_scope(
    client: httpx.AsyncClient, owner_db: Database, db: Database
) -> None:
    world = await _world(client, owner_db)
    classmate = await sign_up(client)
    private_id = await _upload(client, classmate, "mine.md", PHOTOSYNTHESIS.encode())
    draft_id = await _upload(client, world.tutor, "draft.md", b"# Draft\n\n" + VOLCANOES.encode())
    hidden = await post(
        client, f"{API}/courses/{world.course_id}/sections", world.tutor, {"name": "2"}
    )
    assert hidden["status"] == "private"
    await post(client, f"{API}/sections/{hidden['id']}/lessons", world.tutor, _pdf_lesson(draft_id))
    await _buy(client, world)

    hits = await _search(client, world.student, "chlorophyll Calvin cycle Rubisco")
    assert {h["material_id"] for h in hits} == {world.material_id}
    draft_hits = await _search(client, world.student, "caldera pyroclastic")
    assert {h["material_id"] for h in draft_hits} == {world.material_id}
    assert await _chunks_seen_as(db, world.student.id, classmate.id) == 0
    narrowed = await client.post(
        f"{API}/search",
        headers=world.student.headers,
        json={"query": "chlorophyll", "material_ids": [private_id, draft_id]},
    )
    assert narrowed.json() == []
    for material_id in (private_id, draft_id):
        refused = await _artifact(
            client, world.student, {"type": "quiz", "material_id": material_id}, 404
        )
        assert refused["code"] == "material_not_found"
    assert await _artifacts_of(owner_db, world.student.id) == 0

    # The classmate's own search is untouched by the course they never bought.
    theirs = await _search(client, classmate, "chlorophyll Calvin cycle Rubisco")
    assert {h["material_id"] for h in theirs} == {private_id}
    # The author reads every lesson material of their course, published or not.
    authored = await _search(client, world.tutor, "caldera pyroclastic")
    assert {h["material_id"] for h in authored} == {world.material_id, draft_id}


async def test_a_lesson_may_only_use_its_editors_material(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    world = await _world(client, owner_db)
    rival = await sign_up(client, "tutor")
    rival_course = await post(
        client, f"{API}/courses", rival, {"title": "Rival", "description": "Also bio."}
    )
    rival_section = await post(
        client, f"{API}/courses/{rival_course['id']}/sections", rival, {"name": "1"}
    )
    students_id = await _upload(client, world.student, "notes.md", PHOTOSYNTHESIS.encode())
    # The rival can read the tutor's material through the course they bought, not reuse it.
    await post(client, f"{API}/products/{world.product_id}/checkout", rival, None)
    cases = [
        (world.material_id, "material_not_owned"),
        (students_id, "material_not_found"),
        (str(uuid.uuid4()), "material_not_found"),
    ]
    lessons_before = await count(owner_db, "SELECT count(*) FROM lessons")
    for material_id, code in cases:
        response = await client.post(
            f"{API}/sections/{rival_section['id']}/lessons",
            headers=rival.headers,
            json=_pdf_lesson(material_id),
        )
        assert response.status_code == 422, response.text
        assert (response.json()["code"], response.json()["field"]) == (code, "material_id")
    assert await count(owner_db, "SELECT count(*) FROM lessons") == lessons_before

    own_id = await _upload(client, rival, "rival.md", VOLCANOES.encode())
    lesson = await post(
        client, f"{API}/sections/{rival_section['id']}/lessons", rival, _pdf_lesson(own_id)
    )
    changed = await client.patch(
        f"{API}/lessons/{lesson['id']}",
        headers=rival.headers,
        json={"material_id": world.material_id},
    )
    assert (changed.status_code, changed.json()["code"]) == (422, "material_not_owned")
    assert (
        await count(owner_db, "SELECT count(*) FROM lessons WHERE material_id = :m", m=own_id) == 1
    )

    # A deleted material cannot be attached either.
    gone_id = await _upload(client, rival, "gone.md", VOLCANOES.encode())
    assert (
        await client.delete(f"{API}/materials/{gone_id}", headers=rival.headers)
    ).status_code == 204
    deleted = await client.patch(
        f"{API}/lessons/{lesson['id']}", headers=rival.headers, json={"material_id": gone_id}
    )
    assert (deleted.status_code, deleted.json()["code"]) == (422, "material_not_found")

    # Admins may attach any material, e.g. the tutor's PDF to a platform course.
    platform = await post(
        client, f"{API}/courses", world.admin, {"title": "Platform", "description": "d"}
    )
    section = await post(
        client, f"{API}/courses/{platform['id']}/sections", world.admin, {"name": "1"}
    )
    attached = await post(
        client,
        f"{API}/sections/{section['id']}/lessons",
        world.admin,
        _pdf_lesson(world.material_id),
    )
    assert attached["material_id"] == world.material_id


async def test_a_material_in_use_cannot_be_deleted(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    world = await _world(client, owner_db)
    refused = await client.delete(
        f"{API}/materials/{world.material_id}", headers=world.tutor.headers
    )
    assert refused.status_code == 409
    assert (refused.json()["code"], refused.json()["lesson_ids"]) == (
        "material_used_by_lessons",
        [world.lesson_id],
    )
    async with owner_db.transaction() as session:
        material = await session.get(Material, uuid.UUID(world.material_id))
        assert material is not None and material.deleted_at is None
    # The database refuses a hard delete too (RESTRICT), whoever issues it.
    with pytest.raises(IntegrityError) as error:
        async with owner_db.transaction() as session:
            await session.execute(
                text("DELETE FROM materials WHERE id = :m"), {"m": world.material_id}
            )
    assert isinstance(error.value.orig, psycopg.errors.RestrictViolation)
    assert error.value.orig.diag.constraint_name == "fk_lessons_material_id_materials"

    unlinked = await client.patch(
        f"{API}/lessons/{world.lesson_id}",
        headers=world.tutor.headers,
        json={"content_type": "markdown", "content": "# Notes", "material_id": None},
    )
    assert unlinked.status_code == 200, unlinked.text
    deleted = await client.delete(
        f"{API}/materials/{world.material_id}", headers=world.tutor.headers
    )
    assert deleted.status_code == 204


async def test_quiz_from_a_topic_is_built_from_its_accessible_lesson_materials(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    world = await _world(client, owner_db)
    student = world.student
    body = {"type": "quiz", "topic_id": world.topic_id, "max_items": 3}
    # Another tutor's course has a lesson on the same topic; the student never gets access to it.
    other = await sign_up(client, "tutor")
    other_material = await _upload(client, other, "other.md", PHOTOSYNTHESIS.encode())
    other_course = await post(client, f"{API}/courses", other, {"title": "O", "description": "d"})
    other_section = await post(
        client,
        f"{API}/courses/{other_course['id']}/sections",
        other,
        {"name": "1", "status": "public"},
    )
    await post(
        client,
        f"{API}/sections/{other_section['id']}/lessons",
        other,
        _pdf_lesson(other_material, world.topic_id),
    )

    # Without access the topic has no material for this student; nothing is written.
    none = await _artifact(client, student, body, 422)
    assert (none["code"], none["field"]) == ("topic_has_no_material", "topic_id")
    unknown = await _artifact(client, student, {**body, "topic_id": str(uuid.uuid4())}, 422)
    assert (unknown["code"], unknown["field"]) == ("topic_not_found", "topic_id")
    for bad in ({"type": "quiz"}, {**body, "material_id": world.material_id}):
        invalid = await _artifact(client, student, bad, 422)
        assert invalid["code"] == "validation_failed"
    assert await _artifacts_of(owner_db, student.id) == 0
    assert (
        await count(
            owner_db, "SELECT count(*) FROM ai_quota_reservations WHERE user_id = :u", u=student.id
        )
        == 0
    )

    await _buy(client, world)
    created = await _artifact(client, student, body)
    assert (created["topic_id"], created["material_id"]) == (world.topic_id, None)
    await run_jobs()
    artifact = (
        await client.get(f"{API}/artifacts/{created['id']}", headers=student.headers)
    ).json()
    assert (artifact["status"], artifact["engine"], artifact["payload"]) == (
        "completed",
        "offline",
        None,
    )
    quiz = (
        await client.get(f"{API}/quizzes/{artifact['quiz_id']}", headers=student.headers)
    ).json()
    assert (quiz["topic_id"], quiz["material_id"]) == (world.topic_id, None)
    questions = quiz["questions"]
    assert 1 <= len(questions) <= 3
    assert all(set(q) == {"id", "position", "question_text", "options"} for q in questions)

    attempt = await post(client, f"{API}/quizzes/{quiz['id']}/attempts", student, None)
    assert all("correct_answer" not in q for q in attempt["questions"])
    submitted = await post(
        client, f"{API}/quiz-attempts/{attempt['id']}/submit", student, {"answers": {}}, 200
    )
    assert (submitted["correct_count"], submitted["score_percentage"]) == (0, 0.0)
    cited = {c["material_id"] for r in submitted["results"] for c in r["citations"]}
    assert cited == {world.material_id}
    texts = await _chunk_texts(owner_db, world.material_id)
    for result in submitted["results"]:
        citation = result["citations"][0]
        assert result["correct_answer"] in texts[citation["chunk_id"]]


async def _chunk_texts(owner_db: Database, material_id: str) -> dict[str, str]:
    async with owner_db.transaction() as session:
        rows = (
            await session.execute(
                select(MaterialChunk.id, MaterialChunk.chunk_text).where(
                    MaterialChunk.material_id == uuid.UUID(material_id)
                )
            )
        ).all()
    return {str(chunk_id): chunk_text for chunk_id, chunk_text in rows}


async def test_topic_quiz_goes_through_the_llm_engine_like_a_material_quiz(
    llm_client: httpx.AsyncClient, llm_state: FakeState, owner_db: Database
) -> None:
    world = await _world(llm_client, owner_db)
    await _buy(llm_client, world)
    created = await _artifact(
        llm_client, world.student, {"type": "quiz", "topic_id": world.topic_id, "max_items": 3}
    )
    await run_jobs()
    artifact = (
        await llm_client.get(f"{API}/artifacts/{created['id']}", headers=world.student.headers)
    ).json()
    assert (artifact["status"], artifact["engine"], artifact["model_name"]) == (
        "completed",
        "llm",
        "fake-gpt",
    )
    assert llm_state.requests[-1]["response_format"]["json_schema"]["name"] == "quiz"
    async with owner_db.transaction() as session:
        quiz = await session.get(Quiz, uuid.UUID(artifact["quiz_id"]))
        question = (
            await session.scalars(select(QuizQuestion).where(QuizQuestion.quiz_id == quiz.id))
        ).one()
    assert (quiz.topic_id, quiz.material_id, quiz.user_id) == (
        uuid.UUID(world.topic_id),
        None,
        world.student.id,
    )
    assert (question.correct_answer, question.citations[0]["material_id"]) == (
        "Volcanoes",
        world.material_id,
    )
    assert question.citations[0]["page"] == 1
