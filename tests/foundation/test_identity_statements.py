"""The signed identity is stated once per transaction while it stays the same: a unit of work
whose steps each declare what they need (a booking) pays one statement, and the identity the
database holds is always the one last declared, savepoints included."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.db.engine import Database, set_current_user
from studyhall.db.rls import cross_users

_HELD = text("SELECT studyhall_current_user(), studyhall_crosses_users()")


@pytest.fixture
def identity_statements(db: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if "app.identity_signature" in statement:
            seen.append(statement)

    engine = db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", note)
    yield seen
    event.remove(engine, "before_cursor_execute", note)


async def _held(session: AsyncSession) -> tuple[uuid.UUID | None, bool]:
    row = (await session.execute(_HELD)).one()
    return row[0], bool(row[1])


async def test_an_unchanged_identity_is_stated_once(
    db: Database, identity_statements: list[str]
) -> None:
    user = uuid.uuid4()
    async with db.transaction() as session:
        await set_current_user(session, user)
        await set_current_user(session, user)
        await cross_users(session)
        await cross_users(session)
        assert len(identity_statements) == 2
        assert await _held(session) == (user, True)
    async with db.transaction() as session:  # a new transaction states it again
        await set_current_user(session, user)
        assert len(identity_statements) == 3
        assert await _held(session) == (user, False)


async def test_a_rolled_back_savepoint_does_not_leave_a_stale_identity(
    db: Database, identity_statements: list[str]
) -> None:
    user = uuid.uuid4()
    async with db.transaction() as session:
        await set_current_user(session, user)
        savepoint = await session.begin_nested()
        await cross_users(session)
        assert await _held(session) == (user, True)
        await savepoint.rollback()
        # The database dropped the crossing with the savepoint; declaring it again states it.
        assert await _held(session) == (user, False)
        await cross_users(session)
        assert await _held(session) == (user, True)
        assert len(identity_statements) == 3
