"""Offline artifacts, quizzes scored on the server, flashcards scheduled with FSRS."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import func, select

from studyhall.db.engine import Database
from studyhall.study.engine.validate import validate_card, validate_question
from studyhall.study.models import (
    AiUsage,
    Flashcard,
    FlashcardReview,
    MaterialChunk,
    QuizAttempt,
    StudyEvent,
)
from studyhall.study.quota import OFFLINE_MODEL
from tests.conftest import run_jobs
from tests.study.api.conftest import API, Member, sign_up, upload
from tests.study.api.docs import PHOTOSYNTHESIS, VOLCANOES

LONG_NOTES = f"# Plants\n\n{PHOTOSYNTHESIS}\n\n# Earth\n\n{VOLCANOES}\n".encode()


async def _artifact(
    client: httpx.AsyncClient, member: Member, kind: str, material: str, n: int = 5
) -> dict[str, Any]:
    created = await client.post(
        f"{API}/artifacts",
        headers=member.headers,
        json={"type": kind, "material_id": material, "max_items": n},
    )
    assert created.status_code == 202, created.text
    assert created.json()["status"] == "pending"
    await run_jobs()
    fetched = await client.get(f"{API}/artifacts/{created.json()['id']}", headers=member.headers)
    assert fetched.status_code == 200
    body: dict[str, Any] = fetched.json()
    return body


async def _chunk_texts(owner_db: Database, material_id: str) -> dict[str, str]:
    async with owner_db.transaction() as session:
        rows = (
            await session.execute(
                select(MaterialChunk.id, MaterialChunk.chunk_text).where(
                    MaterialChunk.material_id == material_id
                )
            )
        ).all()
    return {str(i): t for i, t in rows}


async def test_offline_summary_cites_material_chunks(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    alice = await sign_up(client, "alice@example.com")
    material = await upload(client, alice, "bio.md", LONG_NOTES)
    summary = await _artifact(client, alice, "summary", material["id"], 3)
    assert (summary["status"], summary["engine"], summary["model_name"]) == (
        "completed",
        "offline",
        OFFLINE_MODEL,
    )
    texts = await _chunk_texts(owner_db, material["id"])
    sentences = summary["payload"]["sentences"]
    assert len(sentences) == 3
    for sentence in sentences:
        citation = sentence["citations"][0]
        assert citation["material_id"] == material["id"]
        assert texts[citation["chunk_id"]][citation["start"] : citation["end"]] == sentence["text"]
    async with owner_db.transaction() as session:
        usage = (await session.scalars(select(AiUsage))).all()
    assert [(u.feature, u.model_name, u.status, u.estimated_cost_micros) for u in usage] == [
        ("summary", OFFLINE_MODEL, "succeeded", 0)
    ]
    assert usage[0].prompt_tokens > 0 and usage[0].total_tokens == (
        usage[0].prompt_tokens + usage[0].completion_tokens
    )


async def test_artifacts_need_a_processed_owned_material(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    alice = await sign_up(client, "alice@example.com")
    bob = await sign_up(client, "bob@example.com")
    pending = await upload(client, alice, "bio.md", LONG_NOTES, process=False)
    body = {"type": "quiz", "material_id": pending["id"]}
    not_ready = await client.post(f"{API}/artifacts", headers=alice.headers, json=body)
    assert (not_ready.status_code, not_ready.json()["code"]) == (409, "material_not_ready")
    await run_jobs()
    foreign = await client.post(f"{API}/artifacts", headers=bob.headers, json=body)
    assert (foreign.status_code, foreign.json()["code"]) == (404, "material_not_found")
    bad = await client.post(
        f"{API}/artifacts", headers=alice.headers, json={**body, "type": "poem", "max_items": 0}
    )
    assert bad.status_code == 422
    assert (await client.get(f"{API}/artifacts", headers=alice.headers)).json() == []
    async with owner_db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(AiUsage)) == 0


async def test_quiz_is_scored_on_the_server_and_never_leaks_answers(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    alice = await sign_up(client, "alice@example.com")
    material = await upload(client, alice, "bio.md", LONG_NOTES)
    artifact = await _artifact(client, alice, "quiz", material["id"], 3)
    assert artifact["status"] == "completed"
    assert artifact["payload"] is None  # the answer key stays on the server
    quiz = (await client.get(f"{API}/quizzes/{artifact['quiz_id']}", headers=alice.headers)).json()
    questions = quiz["questions"]
    assert len(questions) >= 1
    assert all(set(q) == {"id", "position", "question_text", "options"} for q in questions)
    assert all(len(q["options"]) == 4 and len(set(q["options"])) == 4 for q in questions)

    # Every stored question passes the validity rules against its cited chunk.
    texts = await _chunk_texts(owner_db, material["id"])
    async with owner_db.transaction() as session:
        stored = (await session.execute(select(StudyEvent))).all()
    assert stored == []

    started = await client.post(f"{API}/quizzes/{quiz['id']}/attempts", headers=alice.headers)
    assert started.status_code == 201
    attempt = started.json()
    assert attempt["results"] is None and attempt["score_percentage"] is None
    first = questions[0]
    wrong_answer = await client.post(
        f"{API}/quiz-attempts/{attempt['id']}/submit",
        headers=alice.headers,
        json={"answers": {first["id"]: "not an option"}},
    )
    assert (wrong_answer.status_code, wrong_answer.json()["code"]) == (422, "invalid_option")

    # Answer the first question right (found by trying the key after a throwaway attempt).
    probe = (
        await client.post(f"{API}/quizzes/{quiz['id']}/attempts", headers=alice.headers)
    ).json()
    probed = await client.post(
        f"{API}/quiz-attempts/{probe['id']}/submit", headers=alice.headers, json={"answers": {}}
    )
    key = {r["id"]: r["correct_answer"] for r in probed.json()["results"]}
    assert probed.json()["score_percentage"] == 0.0
    for result in probed.json()["results"]:
        question = {
            "stem": result["question_text"],
            "options": [
                {"text": o, "correct": o == result["correct_answer"]} for o in result["options"]
            ],
            "explanation": result["explanation"],
            "citations": result["citations"],
        }
        assert validate_question(question, texts) == []

    submitted = await client.post(
        f"{API}/quiz-attempts/{attempt['id']}/submit",
        headers=alice.headers,
        json={"answers": {first["id"]: key[first["id"]]}},
    )
    assert submitted.status_code == 200
    result = submitted.json()
    expected = (Decimal(100) / Decimal(len(questions))).quantize(Decimal("0.01"))
    assert Decimal(str(result["score_percentage"])) == expected
    assert result["correct_count"] == 1
    assert [r["is_correct"] for r in result["results"]] == [True] + [False] * (len(questions) - 1)

    again = await client.post(
        f"{API}/quiz-attempts/{attempt['id']}/submit", headers=alice.headers, json={"answers": {}}
    )
    assert (again.status_code, again.json()["code"]) == (409, "attempt_already_submitted")
    async with owner_db.transaction() as session:
        row = await session.get(QuizAttempt, attempt["id"])
        events = (await session.scalars(select(StudyEvent).order_by(StudyEvent.created_at))).all()
    assert row is not None and row.score_percentage == expected and row.correct_count == 1
    assert {(e.kind, str(e.reference_id), e.payload["correct"]) for e in events} == {
        ("quiz_completed", attempt["id"], 1),
        ("quiz_completed", probe["id"], 0),
    }

    bob = await sign_up(client, "bob@example.com")
    assert (await client.get(f"{API}/quizzes/{quiz['id']}", headers=bob.headers)).status_code == 404
    foreign = await client.post(
        f"{API}/quiz-attempts/{attempt['id']}/submit", headers=bob.headers, json={"answers": {}}
    )
    assert foreign.status_code == 404


async def test_concurrent_submissions_score_an_attempt_once(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    import asyncio

    alice = await sign_up(client, "alice@example.com")
    material = await upload(client, alice, "bio.md", LONG_NOTES)
    artifact = await _artifact(client, alice, "quiz", material["id"], 3)
    attempt = (
        await client.post(f"{API}/quizzes/{artifact['quiz_id']}/attempts", headers=alice.headers)
    ).json()
    responses = await asyncio.gather(
        *(
            client.post(
                f"{API}/quiz-attempts/{attempt['id']}/submit",
                headers=alice.headers,
                json={"answers": {}},
            )
            for _ in range(8)
        )
    )
    assert sorted(r.status_code for r in responses) == [200] + [409] * 7
    async with owner_db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(StudyEvent)) == 1


async def test_flashcards_are_valid_and_reviewed_with_fsrs(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    alice = await sign_up(client, "alice@example.com")
    material = await upload(client, alice, "bio.md", LONG_NOTES)
    artifact = await _artifact(client, alice, "flashcards", material["id"], 4)
    cards = artifact["payload"]["cards"]
    texts = await _chunk_texts(owner_db, material["id"])
    assert 1 <= len(cards) <= 4
    assert all(validate_card(card, texts) == [] for card in cards)

    due = (await client.get(f"{API}/flashcards/due", headers=alice.headers)).json()
    assert [c["front"] for c in due] == [c["front"] for c in cards]
    card = due[0]
    reviewed = await client.post(
        f"{API}/flashcards/{card['id']}/reviews",
        headers=alice.headers,
        json={"rating": 3, "duration_ms": 4200},
    )
    assert reviewed.status_code == 201
    body = reviewed.json()
    assert (body["rating"], body["duration_ms"]) == (3, 4200)
    assert body["card"]["due_at"] > body["reviewed_at"]
    assert body["card"]["last_reviewed_at"] == body["reviewed_at"]
    still_due = (await client.get(f"{API}/flashcards/due", headers=alice.headers)).json()
    assert card["id"] not in [c["id"] for c in still_due]
    assert len(still_due) == len(cards) - 1

    for rating in (0, 5):
        bad = await client.post(
            f"{API}/flashcards/{card['id']}/reviews", headers=alice.headers, json={"rating": rating}
        )
        assert bad.status_code == 422
    bob = await sign_up(client, "bob@example.com")
    foreign = await client.post(
        f"{API}/flashcards/{card['id']}/reviews", headers=bob.headers, json={"rating": 1}
    )
    assert (foreign.status_code, foreign.json()["code"]) == (404, "flashcard_not_found")
    async with owner_db.transaction() as session:
        reviews = (await session.scalars(select(FlashcardReview))).all()
        stored = await session.get(Flashcard, card["id"])
    assert [(r.rating, r.duration_ms, r.review_log["review_duration"]) for r in reviews] == [
        (3, 4200, 4200)
    ]
    assert stored is not None and stored.fsrs_state["state"] == 1 and stored.fsrs_state["step"] == 1
