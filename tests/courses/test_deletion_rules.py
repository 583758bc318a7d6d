"""What deleting refuses (RESTRICT) and takes along (CASCADE) in the course store and the taxonomy,
and row level security."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from studyhall.courses import service as courses
from studyhall.db.engine import Database
from tests.courses.helpers import count, course_tree, make_admin, post, product, sign_up

API = "/api/v1"

TABLE_COUNTS = (
    "SELECT (SELECT count(*) FROM courses) || ',' || (SELECT count(*) FROM course_sections)"
    " || ',' || (SELECT count(*) FROM lessons) || ',' || (SELECT count(*) FROM products)"
    " || ',' || (SELECT count(*) FROM course_products) || ',' || (SELECT count(*) FROM purchases)"
    " || ',' || (SELECT count(*) FROM course_access)"
    " || ',' || (SELECT count(*) FROM lesson_completions)"
)


async def _counts(owner_db: Database) -> str:
    async with owner_db.transaction() as session:
        return str((await session.execute(text(TABLE_COUNTS))).scalar_one())


async def test_course_linked_to_products_is_restricted(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    tree = await course_tree(client, admin, sections=2, lessons=2)
    await product(client, admin, [tree["course_id"]])
    before = await _counts(owner_db)
    response = await client.delete(f"{API}/courses/{tree['course_id']}", headers=admin.headers)
    assert response.status_code == 409
    assert response.json()["code"] == "course_linked_to_products"
    assert await _counts(owner_db) == before == "1,2,4,1,1,0,0,0"


async def test_product_with_purchases_is_restricted(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    student = await sign_up(client)
    tree = await course_tree(client, admin)
    paid = await product(client, admin, [tree["course_id"]])
    await post(client, f"{API}/products/{paid['id']}/checkout", student, None)
    before = await _counts(owner_db)
    response = await client.delete(f"{API}/products/{paid['id']}", headers=admin.headers)
    assert response.status_code == 409
    assert response.json()["code"] == "product_has_purchases"
    assert await _counts(owner_db) == before == "1,1,2,1,1,1,0,0"


async def test_user_with_purchases_is_restricted_in_the_database(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    student = await sign_up(client)
    tree = await course_tree(client, admin)
    paid = await product(client, admin, [tree["course_id"]])
    await post(client, f"{API}/products/{paid['id']}/checkout", student, None)
    with pytest.raises(IntegrityError, match="fk_purchases_user_id_users"):
        async with owner_db.transaction() as session:
            await session.execute(text("DELETE FROM users WHERE id = :id"), {"id": student.id})
    assert await count(owner_db, "SELECT count(*) FROM users WHERE id = :id", id=student.id) == 1


async def test_deleting_a_product_removes_only_its_course_links(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    tree = await course_tree(client, admin)
    doomed = await product(client, admin, [tree["course_id"]])
    kept = await product(client, admin, [tree["course_id"]])
    response = await client.delete(f"{API}/products/{doomed['id']}", headers=admin.headers)
    assert response.status_code == 204
    assert await count(owner_db, "SELECT count(*) FROM products") == 1
    assert (
        await count(
            owner_db, "SELECT count(*) FROM course_products WHERE product_id = :p", p=kept["id"]
        )
        == 1
    )
    assert await count(owner_db, "SELECT count(*) FROM course_products") == 1
    assert await count(owner_db, "SELECT count(*) FROM courses") == 1


async def test_deleting_a_course_cascades_to_sections_lessons_access_and_completions(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    student = await sign_up(client)
    kept = await course_tree(client, admin, sections=1, lessons=1)
    doomed = await course_tree(client, admin, sections=2, lessons=3)
    for tree in (kept, doomed):
        await post(
            client, f"{API}/courses/{tree['course_id']}/grants", admin, {"user_id": str(student.id)}
        )
        for lesson in tree["lessons"]:
            await client.put(f"{API}/lessons/{lesson}/completion", headers=student.headers)
    assert await _counts(owner_db) == "2,3,7,0,0,0,2,7"
    response = await client.delete(f"{API}/courses/{doomed['course_id']}", headers=admin.headers)
    assert response.status_code == 204
    assert await _counts(owner_db) == "1,1,1,0,0,0,1,1"


async def test_deleting_a_section_or_lesson_cascades(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    tutor = await sign_up(client, "tutor")
    tree = await course_tree(client, tutor, sections=2, lessons=2)
    await client.put(f"{API}/lessons/{tree['lessons'][0]}/completion", headers=tutor.headers)
    await client.put(f"{API}/lessons/{tree['lessons'][3]}/completion", headers=tutor.headers)
    assert (
        await client.delete(f"{API}/sections/{tree['sections'][0]}", headers=tutor.headers)
    ).status_code == 204
    assert await _counts(owner_db) == "1,1,2,0,0,0,0,1"
    assert (
        await client.delete(f"{API}/lessons/{tree['lessons'][3]}", headers=tutor.headers)
    ).status_code == 204
    assert await _counts(owner_db) == "1,1,1,0,0,0,0,0"


async def test_hard_deleting_a_user_without_purchases_cascades_access_and_completions(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    student = await sign_up(client)
    other = await sign_up(client)
    tree = await course_tree(client, admin)
    for person in (student, other):
        await post(
            client, f"{API}/courses/{tree['course_id']}/grants", admin, {"user_id": str(person.id)}
        )
        await client.put(f"{API}/lessons/{tree['lessons'][0]}/completion", headers=person.headers)
    async with owner_db.transaction() as session:
        await session.execute(text("DELETE FROM users WHERE id = :id"), {"id": student.id})
    assert await count(owner_db, "SELECT count(*) FROM course_access") == 1
    assert await count(owner_db, "SELECT count(*) FROM lesson_completions") == 1
    assert (
        await count(
            owner_db, "SELECT count(*) FROM lesson_completions WHERE user_id = :u", u=other.id
        )
        == 1
    )


async def test_subject_with_topics_is_restricted_and_topic_delete_untags_lessons(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    subject = await post(client, f"{API}/subjects", admin, {"name": "Math"})
    duplicate = await client.post(f"{API}/subjects", json={"name": "Math"}, headers=admin.headers)
    assert (duplicate.status_code, duplicate.json()["code"]) == (409, "subject_name_taken")
    topic = await post(
        client,
        f"{API}/subjects/{subject['id']}/topics",
        admin,
        {"name": "Fractions", "difficulty_level": 2},
    )
    assert topic["difficulty_level"] == 2
    too_hard = await client.post(
        f"{API}/subjects/{subject['id']}/topics",
        json={"name": "X", "difficulty_level": 6},
        headers=admin.headers,
    )
    assert too_hard.status_code == 422
    tree = await course_tree(client, admin, lessons=0)
    lesson = await post(
        client,
        f"{API}/sections/{tree['sections'][0]}/lessons",
        admin,
        {"title": "Halves", "topic_id": topic["id"]},
    )
    assert lesson["topic_id"] == topic["id"]

    blocked = await client.delete(f"{API}/subjects/{subject['id']}", headers=admin.headers)
    assert (blocked.status_code, blocked.json()["code"]) == (409, "subject_has_topics")
    assert await count(owner_db, "SELECT count(*) FROM subjects") == 1
    assert (
        await client.delete(f"{API}/topics/{topic['id']}", headers=admin.headers)
    ).status_code == 204
    assert await count(owner_db, "SELECT count(*) FROM lessons WHERE topic_id IS NULL") == 1
    assert (
        await client.delete(f"{API}/subjects/{subject['id']}", headers=admin.headers)
    ).status_code == 204
    assert (await client.get(f"{API}/subjects")).json() == {"items": [], "next_cursor": None}


async def test_row_level_security_hides_other_buyers_rows(
    client: httpx.AsyncClient, owner_db: Database, db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    buyer = await sign_up(client)
    other = await sign_up(client)
    tree = await course_tree(client, admin)
    free = await product(client, admin, [tree["course_id"]], price_cents=0)
    await post(client, f"{API}/products/{free['id']}/checkout", buyer, None)
    await client.put(f"{API}/lessons/{tree['lessons'][0]}/completion", headers=buyer.headers)
    for user_id, expected in ((buyer.id, 1), (other.id, 0)):
        async with db.transaction(user_id) as session:
            for table in ("purchases", "course_access", "lesson_completions"):
                seen = (await session.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
                assert (table, seen) == (table, expected)
        async with db.transaction(user_id) as session:
            assert await courses.has_access(session, buyer.id, uuid.UUID(tree["course_id"])) is (
                expected == 1
            )
