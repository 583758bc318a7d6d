"""The facts courses emits for the domains above it (``kit.events``): ``PurchaseCreated`` when a
purchase becomes paid, ``CourseCompleted`` when the last published lesson of a course is
completed. A subscriber sees each once, in the transaction that made the change."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.courses import service as courses
from studyhall.courses.events import CourseCompleted, PurchaseCreated
from studyhall.db.engine import Database
from studyhall.db.rls import cross_users
from studyhall.kit import events
from tests.courses.helpers import Actor, course_tree, make_admin, post, product, sign_up

API = "/api/v1"
seen: list[object] = []


async def _record(session: AsyncSession, fact: object) -> None:
    # Inside the emitting transaction: the change that caused the fact is already visible.
    assert session.in_transaction()
    seen.append(fact)


events.subscribe(PurchaseCreated, _record)
events.subscribe(CourseCompleted, _record)


@pytest.fixture(autouse=True)
def fresh() -> Iterator[list[object]]:
    seen.clear()
    yield seen
    seen.clear()


def _purchases() -> list[PurchaseCreated]:
    return [fact for fact in seen if isinstance(fact, PurchaseCreated)]


def _completions() -> list[CourseCompleted]:
    return [fact for fact in seen if isinstance(fact, CourseCompleted)]


async def _complete(client: httpx.AsyncClient, lesson_id: str, actor: Actor) -> None:
    response = await client.put(f"{API}/lessons/{lesson_id}/completion", headers=actor.headers)
    assert response.status_code == 200, response.text


async def test_free_checkout_reports_a_purchase_per_course(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    student = await sign_up(client)
    first, second = await course_tree(client, admin), await course_tree(client, admin)
    free = await product(client, admin, [first["course_id"], second["course_id"]], price_cents=0)
    bought = await post(client, f"{API}/products/{free['id']}/checkout", student, None)
    purchase_id = uuid.UUID(bought["purchase"]["id"])
    facts = _purchases()
    assert sorted((f.purchase_id, f.user_id, f.course_id) for f in facts) == sorted(
        (purchase_id, student.id, uuid.UUID(tree["course_id"])) for tree in (first, second)
    )
    assert {(f.amount_cents, f.currency) for f in facts} == {(0, "USD")}


async def test_paid_purchase_is_reported_when_paid_and_only_then(
    client: httpx.AsyncClient, owner_db: Database, db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    student = await sign_up(client)
    tree = await course_tree(client, admin)
    paid = await product(client, admin, [tree["course_id"]], price_cents=4900)
    pending = await post(client, f"{API}/products/{paid['id']}/checkout", student, None)
    assert pending["purchase"]["status"] == "pending"
    assert _purchases() == []
    purchase_id = uuid.UUID(pending["purchase"]["id"])
    for _ in range(2):  # a webhook delivered twice pays, and reports, once
        async with db.transaction() as session:
            await cross_users(session)
            await courses.complete_purchase(session, purchase_id, "cs_events")
    assert _purchases() == [
        PurchaseCreated(
            purchase_id=purchase_id,
            user_id=student.id,
            course_id=uuid.UUID(tree["course_id"]),
            amount_cents=4900,
            currency="USD",
        )
    ]


async def test_completing_the_last_published_lesson_completes_the_course_once(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    student = await sign_up(client)
    tree = await course_tree(client, admin, sections=2, lessons=2)
    draft = await post(
        client,
        f"{API}/sections/{tree['sections'][0]}/lessons",
        admin,
        {"title": "Draft", "status": "private", "content": "not yet"},
    )
    free = await product(client, admin, [tree["course_id"]], price_cents=0)
    await post(client, f"{API}/products/{free['id']}/checkout", student, None)

    *first, last = tree["lessons"]
    for lesson_id in first:
        await _complete(client, lesson_id, student)
    assert _completions() == []
    await _complete(client, last, student)
    completed = _completions()
    assert [(f.user_id, f.course_id) for f in completed] == [
        (student.id, uuid.UUID(tree["course_id"]))
    ]
    # Completing again (a retry) or an editor completing the draft reports nothing more.
    await _complete(client, last, student)
    await _complete(client, draft["id"], admin)
    assert len(_completions()) == 1

    # Uncompleting and completing again is a new completion of the whole course.
    gone = await client.delete(f"{API}/lessons/{last}/completion", headers=student.headers)
    assert gone.status_code == 204
    await _complete(client, last, student)
    assert len(_completions()) == 2
