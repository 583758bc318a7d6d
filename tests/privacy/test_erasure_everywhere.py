"""Erasure leaves nothing behind: no table, file or mailed copy still names the person."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from studyhall.accounts.service import erase_personal_data
from studyhall.config import Settings
from studyhall.db.engine import Database
from tests.conftest import run_jobs
from tests.privacy.catalogue_sql import tables_holding, text_hits
from tests.privacy.seed import API, PASSWORD, seed_everywhere

# Rows that outlive the person (pseudonymised): the books, the other party's history, the log.
KEPT = {
    "users",
    "bookings",
    "offerings",
    "slots",
    "courses",
    "payments",
    "purchases",
    "refunds",
    "subscriptions",
    "credit_ledger",
    "xp_logs",
    "audit_log",
    "reviews",
    "payout_statements",
    "tutor_earning_entries",
}


def _files_mentioning(root: Path, needles: list[str]) -> list[Path]:
    if not root.is_dir():
        return []
    found = []
    for path in root.rglob("*"):
        if path.is_file():
            content = path.read_bytes().lower()
            if any(needle.lower().encode() in content for needle in needles):
                found.append(path)
    return found


async def test_an_erased_person_is_found_nowhere(
    client: httpx.AsyncClient, db: Database, owner_db: Database, settings: Settings
) -> None:
    person = await seed_everywhere(client, owner_db, "gone")
    stays = await seed_everywhere(client, owner_db, "stays")
    # An export made before the deletion is erased with the rest.
    assert (await client.post(f"{API}/me/export", headers=person.headers)).status_code == 202
    await run_jobs()
    needles = [person.email, person.name, person.marker]
    async with owner_db.transaction() as session:
        assert {hit[2] for hit in await text_hits(session, needles)} == set(needles)
    assert _files_mentioning(settings.files_dir, [person.marker])
    assert _files_mentioning(settings.outbox_dir, [person.email])

    deleted = await client.request(
        "DELETE", f"{API}/me", json={"password": PASSWORD}, headers=person.headers
    )
    assert deleted.status_code == 204, deleted.text
    await run_jobs()
    async with owner_db.transaction() as session:
        await session.execute(
            text("UPDATE users SET deleted_at = now() - interval '31 days' WHERE id = :id"),
            {"id": person.id},
        )
    async with db.transaction() as session:
        assert await erase_personal_data(session, 30) == 1
    await run_jobs()
    async with db.transaction() as session:
        assert await erase_personal_data(session, 30) == 0

    async with owner_db.transaction() as session:
        assert await text_hits(session, needles) == []
        assert await tables_holding(session, person.id) <= KEPT
        # The books and the ratings keep their rows: stars and money, without words.
        assert {"reviews", "payout_statements", "tutor_earning_entries"} <= await tables_holding(
            session, person.id
        )
        # The other person's life is untouched.
        other_hits = {hit[2] for hit in await text_hits(session, [stays.email, stays.marker])}
        assert other_hits == {stays.email, stays.marker}
        assert await tables_holding(session, stays.id) >= {"materials", "chat_messages", "friends"}
    assert _files_mentioning(settings.files_dir, needles) == []
    assert _files_mentioning(settings.outbox_dir, needles) == []
    assert _files_mentioning(settings.files_dir, [stays.marker])


async def test_the_append_only_erasure_refuses_an_account_that_is_not_deleted(
    client: httpx.AsyncClient, db: Database
) -> None:
    response = await client.post(
        f"{API}/auth/sign-up",
        json={"email": "alive@example.org", "password": PASSWORD, "name": "Still Here"},
    )
    user_id = (
        await client.get(
            f"{API}/me", headers={"Authorization": f"Bearer {response.json()['access_token']}"}
        )
    ).json()["id"]
    with pytest.raises(DBAPIError, match="only a deleted account"):
        async with db.transaction() as session:
            await session.execute(
                text("SELECT studyhall_erase_append_only_rows(:id)"), {"id": user_id}
            )
