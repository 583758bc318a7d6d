"""``/readyz`` during an expand/contract rollout: a process whose code is older than the database
stays ready while every migration since its head only expanded the schema, and says why not
otherwise."""

from __future__ import annotations

import httpx
from sqlalchemy import text

from studyhall.db import migrate
from studyhall.db.engine import Database

KNOWN = ["0001_a", "0002_b", "0003_c"]


def test_the_code_head_is_compatible_with_itself() -> None:
    assert migrate.schema_compatible("0003_c", None, "0003_c", KNOWN) == "ok"


def test_a_database_behind_the_code_is_not() -> None:
    assert "behind" in migrate.schema_compatible("0002_b", None, "0003_c", KNOWN)


def test_a_database_ahead_is_compatible_while_it_supports_this_code() -> None:
    window = migrate.WINDOW_PREFIX + "0002_b"
    assert migrate.schema_compatible("0004_new", window, "0003_c", KNOWN) == "ok"
    assert migrate.schema_compatible("0004_new", window, "0002_b", KNOWN) == "ok"
    assert "not compatible" in migrate.schema_compatible("0004_new", window, "0001_a", KNOWN)


def test_a_database_past_a_contract_step_this_code_does_not_know_is_not() -> None:
    window = migrate.WINDOW_PREFIX + "0004_new"
    assert "not compatible" in migrate.schema_compatible("0005_newer", window, "0003_c", KNOWN)
    assert "not compatible" in migrate.schema_compatible("0005_newer", None, "0003_c", KNOWN)


def test_without_contract_steps_every_older_code_is_supported() -> None:
    revisions = migrate.revisions()
    assert migrate.oldest_compatible_code(revisions[-1]) == revisions[0]


async def test_readyz_follows_the_window_the_database_records(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    head = migrate.revisions()[-1]
    async with owner_db.engine.begin() as conn:
        comment = (
            await conn.execute(
                text("SELECT obj_description('alembic_version'::regclass, 'pg_class')")
            )
        ).scalar_one()
        assert comment == migrate.WINDOW_PREFIX + migrate.oldest_compatible_code(head)
        # A newer release has expanded the schema and still supports this code.
        await conn.execute(text("UPDATE alembic_version SET version_num = '9999_expand'"))
        await conn.execute(
            text(f"COMMENT ON TABLE alembic_version IS '{migrate.WINDOW_PREFIX}{head}'")
        )
    checks = (await client.get("/readyz")).json()["checks"]
    assert checks["migrations"] == "ok"
    async with owner_db.engine.begin() as conn:
        # Then a contract step drops what this code used.
        await conn.execute(
            text(f"COMMENT ON TABLE alembic_version IS '{migrate.WINDOW_PREFIX}9999_expand'")
        )
    response = await client.get("/readyz")
    assert response.status_code == 503
    assert "not compatible" in response.json()["checks"]["migrations"]
