"""A person with data in every domain: signed up and uploading through the API, the rest of
their life arranged behind the API's back (as the owner), each free-text field carrying a marker
string so that a search can find what erasure missed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import text

from studyhall.db.engine import Database
from tests.conftest import run_jobs

API = "/api/v1"
PASSWORD = "correct horse battery staple 9"


@dataclass
class Person:
    id: uuid.UUID
    email: str
    name: str
    marker: str
    headers: dict[str, str]
    material_id: uuid.UUID
    file_bytes: bytes


async def sign_up(client: httpx.AsyncClient, email: str, name: str, role: str) -> uuid.UUID:
    response = await client.post(
        f"{API}/auth/sign-up",
        json={"email": email, "password": PASSWORD, "name": name, "role": role},
    )
    assert response.status_code == 201, response.text
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
    return uuid.UUID((await client.get(f"{API}/me", headers=headers)).json()["id"])


async def _token(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    response = await client.post(f"{API}/auth/sign-in", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


# One statement per line; :s is the person, :o another student, :t another tutor, :m the marker.
ROWS = (Path(__file__).parent / "seed_rows.sql").read_text()


def _statements(script: str) -> list[str]:
    lines = (line.strip() for line in script.splitlines())
    return [line for line in lines if line and not line.startswith("--")]


async def seed_everywhere(client: httpx.AsyncClient, owner_db: Database, tag: str) -> Person:
    marker = f"zqx{tag}marker"
    email = f"{tag}.person@example.org"
    name = f"Quintessa {tag.capitalize()}"
    person_id = await sign_up(client, email, name, "student")
    other = await sign_up(client, f"{tag}.other@example.org", "Other Student", "student")
    tutor = await sign_up(client, f"{tag}.tutor@example.org", "Other Tutor", "tutor")
    headers = await _token(client, email)
    file_bytes = f"Photosynthesis notes.\n\nPlants make sugar. {marker}\n".encode()
    uploaded = await client.post(
        f"{API}/materials",
        headers=headers,
        files={"file": (f"notes-{marker}.txt", file_bytes, "text/plain")},
        data={"origin": "notes"},
    )
    assert uploaded.status_code == 201, uploaded.text
    material_id = uuid.UUID(uploaded.json()["id"])
    ids = {
        key: uuid.uuid4()
        for key in [
            "so",
            "to",
            "ss",
            "ts",
            "pay",
            "plan",
            "prod",
            "pur",
            "course",
            "sec",
            "lesson",
            "thread",
            "art",
            "card",
            "quiz",
            "subj",
            "topic",
            "ach",
            "stmt",
        ]
    }
    params = {**ids, "s": person_id, "o": other, "t": tutor, "m": marker}
    params |= {"first": name.split()[0], "last": name.split()[1]}
    async with owner_db.transaction() as session:
        for statement in _statements(ROWS):
            used = {key: value for key, value in params.items() if f":{key}" in statement}
            await session.execute(text(statement.rstrip(";")), used)
    await run_jobs()  # processes the upload (chunks) and delivers the sign-up e-mails
    return Person(person_id, email, name, marker, headers, material_id, file_bytes)
