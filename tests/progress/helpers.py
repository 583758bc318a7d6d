"""Arranging progress tests: learners with a zone, achievement definitions, counting rows."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import text

from studyhall.db.engine import Database
from tests.courses.helpers import Actor, sign_up


async def learner(
    client: httpx.AsyncClient, owner_db: Database, zone: str = "Europe/Copenhagen"
) -> Actor:
    actor = await sign_up(client, "student")
    async with owner_db.transaction() as session:
        await session.execute(
            text("UPDATE users SET timezone = :zone WHERE id = :id"), {"zone": zone, "id": actor.id}
        )
    return actor


async def define_achievement(
    owner_db: Database, code: str, criteria_type: str, criteria_value: int, xp_reward: int = 0
) -> uuid.UUID:
    async with owner_db.transaction() as session:
        achievement_id: uuid.UUID = await session.scalar(
            text(
                "INSERT INTO achievements (code, title, description, criteria_type, "
                "criteria_value, xp_reward) VALUES (:code, :title, '', :ct, :cv, :xp) RETURNING id"
            ),
            {
                "code": code,
                "title": code.title(),
                "ct": criteria_type,
                "cv": criteria_value,
                "xp": xp_reward,
            },
        )
    return achievement_id


async def scalar(owner_db: Database, sql: str, **params: Any) -> Any:
    async with owner_db.transaction() as session:
        return await session.scalar(text(sql), params)


async def rows(owner_db: Database, sql: str, **params: Any) -> list[Any]:
    async with owner_db.transaction() as session:
        return list((await session.execute(text(sql), params)).all())
