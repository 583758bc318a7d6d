"""Arranging users, courses and products through the API, as a client would."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import text

from studyhall.db.engine import Database

_counter = itertools.count()


@dataclass
class Actor:
    id: uuid.UUID
    headers: dict[str, str]


async def sign_up(client: httpx.AsyncClient, role: str = "student") -> Actor:
    email = f"user{next(_counter)}-{uuid.uuid4().hex[:6]}@example.com"
    response = await client.post(
        "/api/v1/auth/sign-up",
        json={
            "email": email,
            "password": "correct horse battery staple 9",
            "name": "Test Person",
            "role": role,
            "timezone": "Europe/Copenhagen",
        },
    )
    assert response.status_code == 201, response.text
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
    me = await client.get("/api/v1/me", headers=headers)
    assert me.status_code == 200, me.text
    return Actor(uuid.UUID(me.json()["id"]), headers)


async def make_admin(client: httpx.AsyncClient, owner_db: Database) -> Actor:
    actor = await sign_up(client, "student")
    async with owner_db.transaction() as session:
        await session.execute(
            text("UPDATE users SET role = 'admin' WHERE id = :id"), {"id": actor.id}
        )
    return actor


async def post(
    client: httpx.AsyncClient, url: str, actor: Actor, body: Any, code: int = 201
) -> Any:
    response = await client.post(url, json=body, headers=actor.headers)
    assert response.status_code == code, response.text
    return response.json()


async def course_tree(
    client: httpx.AsyncClient,
    author: Actor,
    *,
    sections: int = 1,
    lessons: int = 2,
    lesson_status: str = "public",
) -> dict[str, Any]:
    """A course with public sections holding lessons; returns ids in outline order."""
    course = await post(
        client, "/api/v1/courses", author, {"title": "Algebra", "description": "Equations."}
    )
    tree: dict[str, Any] = {"course_id": course["id"], "sections": [], "lessons": []}
    for s in range(sections):
        section = await post(
            client,
            f"/api/v1/courses/{course['id']}/sections",
            author,
            {"name": f"Section {s + 1}", "status": "public"},
        )
        tree["sections"].append(section["id"])
        for n in range(lessons):
            lesson = await post(
                client,
                f"/api/v1/sections/{section['id']}/lessons",
                author,
                {
                    "title": f"Lesson {s + 1}.{n + 1}",
                    "status": lesson_status,
                    "content": f"# Lesson {s + 1}.{n + 1}",
                },
            )
            tree["lessons"].append(lesson["id"])
    return tree


async def product(
    client: httpx.AsyncClient,
    admin: Actor,
    course_ids: list[str],
    *,
    price_cents: int = 4900,
    status: str = "public",
) -> dict[str, Any]:
    result: dict[str, Any] = await post(
        client,
        "/api/v1/products",
        admin,
        {
            "name": "Algebra bundle",
            "description": "Everything algebra.",
            "image_url": "https://img.example.com/algebra.png",
            "price_cents": price_cents,
            "currency": "USD",
            "status": status,
            "course_ids": course_ids,
        },
    )
    return result


async def count(owner_db: Database, sql: str, **params: Any) -> int:
    async with owner_db.transaction() as session:
        return int((await session.execute(text(sql), params)).scalar_one())
