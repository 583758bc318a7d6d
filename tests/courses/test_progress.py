"""Completion, progress and "continue": never stale, never above 100 %."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studyhall.db.engine import Database
from tests.courses.helpers import Actor, count, course_tree, make_admin, post, sign_up

API = "/api/v1"


async def _progress(client: httpx.AsyncClient, course_id: str, actor: Actor) -> dict[str, Any]:
    response = await client.get(f"{API}/courses/{course_id}/progress", headers=actor.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_complete_is_idempotent_and_uncomplete_too(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    tutor = await sign_up(client, "tutor")
    tree = await course_tree(client, tutor, lessons=2)
    lesson = tree["lessons"][0]
    first = await client.put(f"{API}/lessons/{lesson}/completion", headers=tutor.headers)
    second = await client.put(f"{API}/lessons/{lesson}/completion", headers=tutor.headers)
    assert first.status_code == second.status_code == 200
    assert first.json()["completed_at"] == second.json()["completed_at"]
    assert await count(owner_db, "SELECT count(*) FROM lesson_completions") == 1
    for _ in range(2):
        gone = await client.delete(f"{API}/lessons/{lesson}/completion", headers=tutor.headers)
        assert gone.status_code == 204
    assert await count(owner_db, "SELECT count(*) FROM lesson_completions") == 0
    assert (
        await count(owner_db, "SELECT count(*) FROM audit_log WHERE action LIKE 'lesson.%complete'")
        == 2
    )


async def test_completing_without_access_is_refused_and_records_nothing(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    tutor = await sign_up(client, "tutor")
    student = await sign_up(client)
    tree = await course_tree(client, tutor, lessons=1)
    response = await client.put(
        f"{API}/lessons/{tree['lessons'][0]}/completion", headers=student.headers
    )
    assert (response.status_code, response.json()["code"]) == (403, "course_access_required")
    assert await count(owner_db, "SELECT count(*) FROM lesson_completions") == 0


async def test_progress_follows_adds_removals_and_unpublishing(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    student = await sign_up(client)
    tree = await course_tree(client, admin, sections=1, lessons=4)
    course, lessons = tree["course_id"], tree["lessons"]
    await post(client, f"{API}/courses/{course}/grants", admin, {"user_id": str(student.id)})
    for lesson in lessons[:3]:
        await client.put(f"{API}/lessons/{lesson}/completion", headers=student.headers)
    body = await _progress(client, course, student)
    assert (body["completed_lessons"], body["total_lessons"], body["percent"]) == (3, 4, 75.0)

    await post(
        client,
        f"{API}/sections/{tree['sections'][0]}/lessons",
        admin,
        {"title": "New", "status": "public"},
    )
    body = await _progress(client, course, student)
    assert (body["completed_lessons"], body["total_lessons"], body["percent"]) == (3, 5, 60.0)

    await client.patch(
        f"{API}/lessons/{lessons[0]}", json={"status": "private"}, headers=admin.headers
    )
    body = await _progress(client, course, student)
    assert (body["completed_lessons"], body["total_lessons"], body["percent"]) == (2, 4, 50.0)

    await client.delete(f"{API}/lessons/{lessons[3]}", headers=admin.headers)
    body = await _progress(client, course, student)
    assert (body["completed_lessons"], body["total_lessons"], body["percent"]) == (2, 3, 66.67)

    await client.patch(
        f"{API}/sections/{tree['sections'][0]}", json={"status": "private"}, headers=admin.headers
    )
    body = await _progress(client, course, student)
    assert (body["completed_lessons"], body["total_lessons"], body["percent"]) == (0, 0, 0.0)

    await client.patch(
        f"{API}/sections/{tree['sections'][0]}", json={"status": "public"}, headers=admin.headers
    )
    await client.patch(
        f"{API}/lessons/{lessons[0]}", json={"status": "preview"}, headers=admin.headers
    )
    mine = (await client.get(f"{API}/me/courses", headers=student.headers)).json()["items"]
    assert mine == [
        {
            "course_id": course,
            "title": "Algebra",
            "total_lessons": 4,
            "completed_lessons": 3,
            "percent": 75.0,
        }
    ]


async def test_continue_returns_next_incomplete_lesson_in_order(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    tutor = await sign_up(client, "tutor")
    tree = await course_tree(client, tutor, sections=2, lessons=2)
    course, lessons = tree["course_id"], tree["lessons"]
    url = f"{API}/courses/{course}/continue"
    assert (await client.get(url, headers=tutor.headers)).json()["lesson"]["id"] == lessons[0]
    await client.put(f"{API}/lessons/{lessons[0]}/completion", headers=tutor.headers)
    await client.put(f"{API}/lessons/{lessons[2]}/completion", headers=tutor.headers)
    assert (await client.get(url, headers=tutor.headers)).json()["lesson"]["id"] == lessons[1]
    # Moving section 2 first makes its remaining lesson the next one.
    await client.put(
        f"{API}/courses/{course}/section-order",
        json={"ids": list(reversed(tree["sections"]))},
        headers=tutor.headers,
    )
    assert (await client.get(url, headers=tutor.headers)).json()["lesson"]["id"] == lessons[3]
    for lesson in (lessons[1], lessons[3]):
        await client.put(f"{API}/lessons/{lesson}/completion", headers=tutor.headers)
    done = (await client.get(url, headers=tutor.headers)).json()
    assert done == {"course_id": course, "lesson": None, "course_completed": True}


# --- property: random add / delete / unpublish / publish / complete / uncomplete ------------


@dataclass
class Model:
    """An independent recomputation of what progress must be."""

    lessons: dict[str, tuple[int, str]] = field(default_factory=dict)  # id -> (section, status)
    completed: set[str] = field(default_factory=set)
    section_public: list[bool] = field(default_factory=lambda: [True, False])
    order: list[str] = field(default_factory=list)

    def published(self, lesson_id: str) -> bool:
        section, status = self.lessons[lesson_id]
        return self.section_public[section] and status in ("public", "preview")

    def expected(self) -> tuple[int, int]:
        live = [lesson for lesson in self.order if self.published(lesson)]
        return sum(1 for lesson in live if lesson in self.completed), len(live)


Step = tuple[str, int, str]
steps = st.lists(
    st.tuples(
        st.sampled_from(
            ["add", "delete", "unpublish", "publish", "complete", "uncomplete", "toggle_section"]
        ),
        st.integers(min_value=0, max_value=20),
        st.sampled_from(["public", "preview", "private"]),
    ),
    min_size=1,
    max_size=14,
)


@dataclass
class World:
    client: httpx.AsyncClient
    author: Actor
    learner: Actor


async def _apply(world: World, course: dict[str, Any], model: Model, step: Step) -> None:
    client, author, learner = world.client, world.author, world.learner
    action, index, status = step
    sections = course["sections"]
    pick = model.order[index % len(model.order)] if model.order else None
    if action == "add":
        section = index % 2
        lesson = await post(
            client,
            f"{API}/sections/{sections[section]}/lessons",
            author,
            {"title": "L", "status": status},
        )
        model.lessons[lesson["id"]] = (section, status)
        # Outline order: section position, then lesson position (appended last).
        model.order.append(lesson["id"])
        model.order.sort(key=lambda i: model.lessons[i][0])
    elif action == "toggle_section":
        section = index % 2
        model.section_public[section] = not model.section_public[section]
        new = "public" if model.section_public[section] else "private"
        response = await client.patch(
            f"{API}/sections/{sections[section]}", json={"status": new}, headers=author.headers
        )
        assert response.status_code == 200
    elif pick is None:
        return
    elif action == "delete":
        assert (
            await client.delete(f"{API}/lessons/{pick}", headers=author.headers)
        ).status_code == 204
        del model.lessons[pick]
        model.order.remove(pick)
        model.completed.discard(pick)
    elif action in ("unpublish", "publish"):
        new = "private" if action == "unpublish" else status if status != "private" else "public"
        response = await client.patch(
            f"{API}/lessons/{pick}", json={"status": new}, headers=author.headers
        )
        assert response.status_code == 200
        model.lessons[pick] = (model.lessons[pick][0], new)
    elif action == "complete":
        response = await client.put(f"{API}/lessons/{pick}/completion", headers=learner.headers)
        if model.published(pick):
            assert response.status_code == 200
            model.completed.add(pick)
        else:
            assert (response.status_code, response.json()["code"]) == (404, "lesson_not_found")
    elif action == "uncomplete":
        response = await client.delete(f"{API}/lessons/{pick}/completion", headers=learner.headers)
        assert response.status_code == 204
        model.completed.discard(pick)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plan=steps)
async def test_progress_always_matches_a_recomputation(
    client: httpx.AsyncClient, owner_db: Database, plan: list[Step]
) -> None:
    world = getattr(test_progress_always_matches_a_recomputation, "world", None)
    if world is None or world.client is not client:
        admin = await make_admin(client, owner_db)
        world = World(client, admin, await sign_up(client))
        test_progress_always_matches_a_recomputation.world = world  # type: ignore[attr-defined]
    course = await course_tree(world.client, world.author, sections=2, lessons=0)
    await client.patch(
        f"{API}/sections/{course['sections'][1]}",
        json={"status": "private"},
        headers=world.author.headers,
    )
    await post(
        client,
        f"{API}/courses/{course['course_id']}/grants",
        world.author,
        {"user_id": str(world.learner.id)},
    )
    model = Model()
    for step in plan:
        await _apply(world, course, model, step)
        body = await _progress(client, course["course_id"], world.learner)
        completed, total = model.expected()
        assert 0 <= body["percent"] <= 100
        assert (body["completed_lessons"], body["total_lessons"]) == (completed, total)
        assert body["percent"] == (0.0 if total == 0 else round(completed * 100 / total, 2))
        assert [row["lesson_id"] for row in body["lessons"]] == [
            lesson for lesson in model.order if model.published(lesson)
        ]
    summary = (await client.get(f"{API}/me/courses", headers=world.learner.headers)).json()["items"]
    mine = next(row for row in summary if row["course_id"] == course["course_id"])
    assert (mine["completed_lessons"], mine["total_lessons"]) == model.expected()
    assert uuid.UUID(course["course_id"])


async def test_completing_while_lessons_are_deleted_never_errors(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    tutor = await sign_up(client, "tutor")
    tree = await course_tree(client, tutor, sections=1, lessons=8)
    calls = []
    for lesson in tree["lessons"]:
        calls.append(client.put(f"{API}/lessons/{lesson}/completion", headers=tutor.headers))
        calls.append(client.delete(f"{API}/lessons/{lesson}", headers=tutor.headers))
    results = await asyncio.gather(*calls)
    completes, deletes = results[0::2], results[1::2]
    assert {r.status_code for r in deletes} == {204}
    assert {r.status_code for r in completes} <= {200, 404}
    assert await count(owner_db, "SELECT count(*) FROM lessons") == 0
    assert await count(owner_db, "SELECT count(*) FROM lesson_completions") == 0
