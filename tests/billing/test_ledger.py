"""The credit ledger: append-only for the API role, never negative, one chain per user."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import psycopg
import pytest
from sqlalchemy import text

from studyhall.billing.service import ledger
from studyhall.bootstrap import DatabaseUrls
from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.kit.errors import PaymentRequired
from tests.billing.conftest import ledger_consistent, make_admin, scalar, sign_up

CLIENTS = 50
DEBITS = 1_000
COVERED = 637


async def _grant(db: Database, user_id: uuid.UUID, credits: int) -> None:
    async with db.transaction(user_id) as session:
        await ledger.post(session, user_id, credits, "manual", note="start")


async def test_the_api_role_cannot_update_or_delete_ledger_rows(
    client: httpx.AsyncClient, db: Database, database_urls: DatabaseUrls
) -> None:
    student = await sign_up(client)
    await _grant(db, student.id, 50)
    with psycopg.connect(database_urls.app) as conn:
        for statement in (
            "UPDATE credit_ledger SET delta = 5000, balance_after = 5000",
            "DELETE FROM credit_ledger",
            "TRUNCATE credit_ledger",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
            conn.rollback()
    assert await ledger_consistent(db, student.id) == (50, 50)
    assert await scalar(db, "SELECT delta FROM credit_ledger") == 50


async def test_a_balance_cannot_go_negative_even_bypassing_the_service(
    client: httpx.AsyncClient, db: Database
) -> None:
    student = await sign_up(client)
    await _grant(db, student.id, 5)
    with pytest.raises(Exception, match="ck_student_profiles_credit_balance_non_negative"):
        async with db.transaction(student.id) as session:
            await session.execute(
                text("UPDATE student_profiles SET credit_balance = -1 WHERE user_id = :u"),
                {"u": student.id},
            )
    with pytest.raises(Exception, match="ck_credit_ledger_balance_after_non_negative"):
        async with db.transaction(student.id) as session:
            await session.execute(
                text(
                    "INSERT INTO credit_ledger (user_id, seq, delta, reason, balance_after) "
                    "VALUES (:u, 2, -6, 'manual', -1)"
                ),
                {"u": student.id},
            )
    with pytest.raises(Exception, match="uq_credit_ledger_user_id_seq"):
        async with db.transaction(student.id) as session:
            await session.execute(
                text(
                    "INSERT INTO credit_ledger (user_id, seq, delta, reason, balance_after) "
                    "VALUES (:u, 1, 1, 'manual', 6)"
                ),
                {"u": student.id},
            )
    assert await ledger_consistent(db, student.id) == (5, 5)


async def test_concurrent_debits_succeed_exactly_as_often_as_the_balance_covers(
    client: httpx.AsyncClient, db: Database, settings: Settings, database_urls: DatabaseUrls
) -> None:
    student = await sign_up(client)
    await _grant(db, student.id, COVERED)
    wide = Database.connect(
        database_urls.app, settings.model_copy(update={"db_pool_size": CLIENTS})
    )
    outcomes: list[str] = []

    async def debit_client(share: int) -> None:
        for _ in range(share):
            try:
                async with wide.transaction(student.id) as session:
                    await ledger.post(
                        session,
                        student.id,
                        -1,
                        "booking",
                        source=ledger.Source(booking_id=uuid.uuid4()),
                    )
                outcomes.append("ok")
            except PaymentRequired as exc:
                assert exc.code == "insufficient_credits"
                outcomes.append("refused")

    try:
        await asyncio.gather(*(debit_client(DEBITS // CLIENTS) for _ in range(CLIENTS)))
    finally:
        await wide.dispose()
    assert outcomes.count("ok") == COVERED
    assert outcomes.count("refused") == DEBITS - COVERED
    assert await ledger_consistent(db, student.id) == (0, 0)
    assert (
        await scalar(
            db, "SELECT count(*) FROM credit_ledger WHERE user_id = :u AND delta = -1", u=student.id
        )
        == COVERED
    )
    assert await scalar(db, "SELECT min(balance_after) FROM credit_ledger") == 0


async def test_admin_adjustments_reversals_and_their_refusals(
    client: httpx.AsyncClient, owner_db: Database, db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    student = await sign_up(client)
    url = f"/api/v1/billing/admin/users/{student.id}/credits"
    granted = await client.post(
        url, json={"delta": 40, "note": "goodwill"}, headers=admin.with_key()
    )
    assert granted.status_code == 201
    entry = granted.json()
    assert (entry["seq"], entry["delta"], entry["reason"], entry["balance_after"]) == (
        1,
        40,
        "manual",
        40,
    )
    overdraw = await client.post(url, json={"delta": -41, "note": "x"}, headers=admin.with_key())
    assert overdraw.status_code == 402
    assert (overdraw.json()["code"], overdraw.json()["balance"]) == ("insufficient_credits", 40)
    zero = await client.post(url, json={"delta": 0, "note": "x"}, headers=admin.with_key())
    assert (zero.status_code, zero.json()["code"]) == (422, "invalid_credit_delta")
    by_student = await client.post(url, json={"delta": 5, "note": "x"}, headers=student.with_key())
    assert by_student.status_code == 403
    assert await ledger_consistent(db, student.id) == (40, 40)

    reverse_url = f"/api/v1/billing/admin/credit-entries/{entry['id']}/reverse"
    reversed_ = await client.post(reverse_url, json={"note": "typo"}, headers=admin.with_key())
    assert reversed_.status_code == 201, reversed_.text
    assert (reversed_.json()["delta"], reversed_.json()["reverses_id"]) == (-40, entry["id"])
    twice = await client.post(reverse_url, json={}, headers=admin.with_key())
    assert (twice.status_code, twice.json()["code"]) == (409, "already_reversed")
    of_reversal = await client.post(
        f"/api/v1/billing/admin/credit-entries/{reversed_.json()['id']}/reverse",
        json={},
        headers=admin.with_key(),
    )
    assert (of_reversal.status_code, of_reversal.json()["code"]) == (409, "cannot_reverse_reversal")
    assert await ledger_consistent(db, student.id) == (0, 0)
    seen = await client.get(
        f"/api/v1/billing/admin/users/{student.id}/credits/entries", headers=admin.headers
    )
    assert [e["delta"] for e in seen.json()["items"]] == [-40, 40]
    actions = await scalar(
        db,
        "SELECT string_agg(action, ',' ORDER BY created_at) FROM audit_log "
        "WHERE action LIKE 'credits.%'",
    )
    assert actions == "credits.manual,credits.manual"


async def test_row_level_security_hides_and_protects_other_users_rows(
    client: httpx.AsyncClient, db: Database
) -> None:
    owner, stranger = await sign_up(client), await sign_up(client)
    await _grant(db, owner.id, 25)
    for viewer in (stranger.id, None):
        async with db.transaction(viewer) as session:
            seen = await session.scalar(
                text("SELECT count(*) FROM credit_ledger WHERE user_id = :u"), {"u": owner.id}
            )
            moved = await session.execute(
                text("UPDATE student_profiles SET credit_balance = 0 WHERE user_id = :u"),
                {"u": owner.id},
            )
            assert (seen, moved.rowcount) == (0, 0)  # type: ignore[attr-defined]
    with pytest.raises(Exception, match="row-level security"):
        async with db.transaction(stranger.id) as session:
            await ledger.post(session, owner.id, 1_000, "manual")
    assert await ledger_consistent(db, owner.id) == (25, 25)
    mine = await client.get("/api/v1/billing/credits", headers=stranger.headers)
    entries = await client.get("/api/v1/billing/credits/entries", headers=stranger.headers)
    assert (mine.json()["balance"], entries.json()["items"]) == (0, [])
