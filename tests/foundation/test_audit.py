from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import ProgrammingError

from studyhall.audit import service as audit
from studyhall.audit.models import AuditEntry
from studyhall.db.engine import Database
from studyhall.db.rls import cross_users_transaction


async def test_record_writes_in_the_callers_transaction(db: Database) -> None:
    async with db.transaction() as session:
        await audit.record(session, None, "demo.create", "thing", "t-1", {"name": [None, "x"]})
    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            await audit.record(session, None, "demo.rolled_back", "thing", "t-2")
            raise RuntimeError("abort")
    # Only admins and units of work that cross users read the log back.
    async with cross_users_transaction(db) as session:
        rows = (await session.scalars(select(AuditEntry))).all()
    assert [(r.action, r.entity, r.entity_id, r.diff) for r in rows] == [
        ("demo.create", "thing", "t-1", {"name": [None, "x"]})
    ]


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_log SET action = 'forged'", "DELETE FROM audit_log", "TRUNCATE audit_log"],
)
async def test_the_api_role_cannot_rewrite_history(db: Database, statement: str) -> None:
    async with db.transaction() as session:
        await audit.record(session, None, "demo.create", "thing", str(uuid.uuid4()))
    with pytest.raises(ProgrammingError, match="permission denied"):
        async with db.transaction() as session:
            await session.execute(text(statement))
    async with cross_users_transaction(db) as session:
        actions = (await session.scalars(select(AuditEntry.action))).all()
    assert actions == ["demo.create"]


def test_changes_lists_only_changed_fields() -> None:
    assert audit.changes({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": 4}) == {
        "b": [2, 3],
        "c": [None, 4],
    }
