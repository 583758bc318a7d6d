"""A user's export: every table that holds a row of theirs, their files, downloadable once."""

from __future__ import annotations

import email
import email.policy
import io
import json
import re
import zipfile
from email.message import EmailMessage
from pathlib import Path

import httpx
from sqlalchemy import text

from studyhall.bootstrap import DatabaseUrls
from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.privacy.service.catalogue import SECRET_COLUMNS, user_tables
from tests.conftest import run_jobs
from tests.live import live_server
from tests.privacy.catalogue_sql import USER_REFERENCES, tables_holding
from tests.privacy.seed import API, seed_everywhere

LINK = re.compile(r"(https?://\S+/me/exports/\S+/download\?token=[A-Za-z0-9_-]+)")


def _mailed_link(outbox: Path) -> str:
    for path in sorted(outbox.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        body = message.get_body(("plain",))
        found = LINK.search(body.get_content()) if body is not None else None
        if found:
            return found.group(1)
    raise AssertionError("no e-mail with an export link")


async def test_the_catalogue_knows_every_column_that_refers_to_a_user(owner_db: Database) -> None:
    async with owner_db.transaction() as session:
        in_database = {(t, c) for t, c in (await session.execute(USER_REFERENCES)).all()}
    known = {(t.name, c) for t in user_tables() for c in t.user_columns if t.name != "users"}
    assert known == in_database


async def test_an_export_holds_every_table_with_a_row_of_the_user_and_their_files(
    client: httpx.AsyncClient,
    db: Database,
    owner_db: Database,
    settings: Settings,
    database_urls: DatabaseUrls,
) -> None:
    person = await seed_everywhere(client, owner_db, "export")
    requested = await client.post(f"{API}/me/export", headers=person.headers)
    assert requested.status_code == 202, requested.text
    again = await client.post(f"{API}/me/export", headers=person.headers)
    assert again.json()["id"] == requested.json()["id"]  # one export being built at a time
    await run_jobs()
    export_id = requested.json()["id"]
    status = await client.get(f"{API}/me/exports/{export_id}", headers=person.headers)
    assert status.json()["status"] == "ready"

    link = _mailed_link(settings.outbox_dir)
    path_and_query = link.split("/api/v1", 1)[1]
    with live_server(settings, database_urls.app) as base:
        async with httpx.AsyncClient(base_url=base + API) as http:
            wrong = await http.get(re.sub(r"token=.*", "token=" + "x" * 43, path_and_query))
            assert wrong.status_code == 404
            first = await http.get(path_and_query)
            assert first.status_code == 200, first.text
            assert first.headers["content-type"] == "application/zip"
            second = await http.get(path_and_query)
            assert second.status_code == 410
            assert second.headers["content-type"] == "application/problem+json"

    archive = zipfile.ZipFile(io.BytesIO(first.content))
    names = set(archive.namelist())
    async with owner_db.transaction() as session:
        holding = await tables_holding(session, person.id)
        actions = set(
            (
                await session.scalars(
                    text("SELECT action FROM audit_log WHERE entity_id = :id"), {"id": export_id}
                )
            ).all()
        )
    holding.discard("data_exports")  # the export itself, made after the archive was built
    assert len(holding) > 40
    exported = {name.removeprefix("tables/").removesuffix(".json") for name in names}
    assert holding - exported == set()
    files = [name for name in names if name.startswith(f"files/{person.material_id}/")]
    assert len(files) == 1 and archive.read(files[0]) == person.file_bytes

    users = json.loads(archive.read("tables/users.json"))
    assert [row["email"] for row in users] == [person.email]
    everything = b"".join(archive.read(name) for name in names if name.startswith("tables/"))
    for secret in SECRET_COLUMNS:
        assert f'"{secret}"'.encode() not in everything
    chats = json.loads(archive.read("tables/chat_messages.json"))
    assert person.marker in chats[0]["content"]
    assert {
        "privacy.export_requested",
        "privacy.export_ready",
        "privacy.export_downloaded",
    } <= actions
    assert not list((settings.files_dir / "exports").rglob("*.zip"))  # gone after the download


async def test_an_expired_link_is_gone_and_another_user_cannot_see_the_export(
    client: httpx.AsyncClient, db: Database, owner_db: Database, settings: Settings
) -> None:
    person = await seed_everywhere(client, owner_db, "expiry")
    export_id = (await client.post(f"{API}/me/export", headers=person.headers)).json()["id"]
    await run_jobs()
    link = _mailed_link(settings.outbox_dir).split("/api/v1", 1)[1]
    other = await client.post(
        f"{API}/auth/sign-in",
        json={"email": "expiry.other@example.org", "password": "correct horse battery staple 9"},
    )
    headers = {"Authorization": f"Bearer {other.json()['access_token']}"}
    assert (await client.get(f"{API}/me/exports/{export_id}", headers=headers)).status_code == 404
    async with owner_db.transaction() as session:
        await session.execute(
            text("UPDATE data_exports SET expires_at = now() - interval '1 second'")
        )
    expired = await client.get(API + link)
    assert expired.status_code == 410
    assert expired.json()["code"] == "export_gone"
