"""A guardian reads their ward's progress while their consent stands; nobody else does."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import text

from studyhall.db.engine import Database
from studyhall.progress import service as progress
from tests.progress.helpers import learner, scalar


async def _consent(owner_db: Database, ward: uuid.UUID, email: str, given: bool) -> None:
    async with owner_db.transaction() as session:
        await session.execute(
            text(
                "INSERT INTO guardian_consents (user_id, guardian_email, consent_type, "
                "consent_given, legal_text_hash) VALUES (:u, :e, 'account', :g, 'x')"
            ),
            {"u": ward, "e": email, "g": given},
        )


async def test_only_the_consenting_guardian_reads_the_wards_progress(
    client: httpx.AsyncClient, db: Database, owner_db: Database
) -> None:
    ward = await learner(client, owner_db)
    guardian = await learner(client, owner_db)
    stranger = await learner(client, owner_db)
    email = await scalar(owner_db, "SELECT email::text FROM users WHERE id = :u", u=guardian.id)
    async with db.transaction(ward.id) as session:
        await progress.record(session, progress.LessonCompleted(ward.id, uuid.uuid4()))
    url = f"/api/v1/guardian/wards/{ward.id}/progress"

    assert (await client.get(url, headers=guardian.headers)).status_code == 404
    await _consent(owner_db, ward.id, email.upper(), True)
    seen = await client.get(url, headers=guardian.headers)
    assert seen.status_code == 200, seen.text
    assert seen.json()["user_id"] == str(ward.id) and seen.json()["xp"]["total"] == 20
    assert (await client.get(url, headers=stranger.headers)).status_code == 404
    # Nothing else of the ward: their own routes still answer for the caller only.
    mine = (await client.get("/api/v1/me/progress", headers=guardian.headers)).json()
    assert mine["xp"]["total"] == 0
    await _consent(owner_db, ward.id, email, False)
    assert (await client.get(url, headers=guardian.headers)).status_code == 404
