"""Fixtures of the study API tests: users, uploads, and an app wired to a local fake LLM."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from studyhall.app import create_app
from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.jobs import core as jobs
from tests.conftest import run_jobs
from tests.study.api.fake_llm import FakeServer, FakeState

API = "/api/v1"


@dataclass
class Member:
    id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def sign_up(client: httpx.AsyncClient, email: str, timezone: str = "UTC") -> Member:
    response = await client.post(
        f"{API}/auth/sign-up",
        json={
            "email": email,
            "password": "correct horse battery staple 9",
            "name": email.split("@")[0],
            "role": "student",
            "timezone": timezone,
        },
    )
    assert response.status_code == 201, response.text
    token = response.json()["access_token"]
    me = await client.get(f"{API}/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200, me.text
    return Member(id=me.json()["id"], token=token)


async def upload(
    client: httpx.AsyncClient,
    member: Member,
    name: str,
    data: bytes,
    origin: str = "notes",
    *,
    process: bool = True,
) -> dict[str, Any]:
    response = await client.post(
        f"{API}/materials",
        headers=member.headers,
        files={"file": (name, data, "application/octet-stream")},
        data={"origin": origin},
    )
    assert response.status_code == 201, response.text
    material: dict[str, Any] = response.json()
    if process:
        await run_jobs()
        fetched = await client.get(f"{API}/materials/{material['id']}", headers=member.headers)
        material = fetched.json()
    return material


@pytest.fixture(scope="session")
def fake_llm() -> Iterator[FakeServer]:
    server = FakeServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def llm_state(fake_llm: FakeServer) -> Iterator[FakeState]:
    fake_llm.state.reset()
    yield fake_llm.state
    fake_llm.state.reset()


@pytest.fixture
def llm_settings(settings: Settings, fake_llm: FakeServer) -> Settings:
    return settings.model_copy(
        update={
            "llm_base_url": fake_llm.base_url,
            "llm_model": "fake-gpt",
            "llm_timeout_s": 1.0,
            "embedding_base_url": fake_llm.base_url,
            "embedding_model": "fake-embed",
        }
    )


@pytest.fixture
async def llm_client(
    llm_settings: Settings, db: Database, llm_state: FakeState
) -> AsyncIterator[httpx.AsyncClient]:
    """The app and its job runtime configured with the fake model server."""
    jobs.configure_runtime(jobs.Runtime(settings=llm_settings, database=db))
    app = create_app(llm_settings, db)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http
