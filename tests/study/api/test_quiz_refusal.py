"""A quiz the material cannot give fairly is refused honestly: the failed artifact says so with a
stable code, and points to the flashcards; a material that is really too short says that."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import run_jobs
from tests.study.api.conftest import API, Member, sign_up, upload
from tests.study.api.docs import FERRY_NEWS
from tests.study.api.fake_llm import FakeState

NO_FAIR_QUESTION = (
    "no fair multiple-choice question could be made from this material (no answer in it has "
    "three wrong options of its own kind); its flashcards can be studied instead"
)


async def _made(
    client: httpx.AsyncClient, member: Member, kind: str, material_id: str
) -> dict[str, Any]:
    created = await client.post(
        f"{API}/artifacts",
        headers=member.headers,
        json={"type": kind, "material_id": material_id, "max_items": 5},
    )
    assert created.status_code == 202, created.text
    await run_jobs()
    polled = await client.get(f"{API}/artifacts/{created.json()['id']}", headers=member.headers)
    assert polled.status_code == 200, polled.text
    body: dict[str, Any] = polled.json()
    return body


async def test_news_with_no_fair_question_is_refused_and_its_flashcards_offered(
    client: httpx.AsyncClient,
) -> None:
    alice = await sign_up(client, "alice@example.com")
    news = await upload(client, alice, "ferry.md", FERRY_NEWS.encode())
    assert news["processing_status"] == "completed"

    quiz = await _made(client, alice, "quiz", news["id"])
    assert (quiz["status"], quiz["error_code"], quiz["error"]) == (
        "failed",
        "quiz_no_fair_questions",
        NO_FAIR_QUESTION,
    )
    assert quiz["quiz_id"] is None
    # What the refusal promises is there: the same material makes a deck.
    cards = await _made(client, alice, "flashcards", news["id"])
    assert (cards["status"], cards["error_code"]) == ("completed", None)
    assert len(cards["payload"]["cards"]) >= 3


async def test_a_material_too_short_for_any_item_still_says_so(client: httpx.AsyncClient) -> None:
    bob = await sign_up(client, "bob@example.com")
    short = await upload(client, bob, "short.md", b"Hi.")
    assert short["processing_status"] == "completed"

    quiz = await _made(client, bob, "quiz", short["id"])
    assert (quiz["status"], quiz["error_code"], quiz["error"]) == (
        "failed",
        "material_too_short",
        "the material has too little text to make a quiz",
    )


async def test_a_model_with_no_valid_question_ends_in_the_same_refusal(
    llm_client: httpx.AsyncClient, llm_state: FakeState
) -> None:
    carol = await sign_up(llm_client, "carol@example.com")
    news = await upload(llm_client, carol, "ferry.md", FERRY_NEWS.encode())
    llm_state.mode = "malformed"

    quiz = await _made(llm_client, carol, "quiz", news["id"])
    assert (quiz["status"], quiz["error_code"], quiz["error"]) == (
        "failed",
        "quiz_no_fair_questions",
        NO_FAIR_QUESTION,
    )
    assert llm_state.chat_calls == 2
