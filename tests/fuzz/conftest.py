"""A real Studyhall server for the fuzzer: uvicorn in a thread on a fresh database, a fake model
server, and a signed-in student, tutor and admin."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
import uvicorn

from studyhall.app import create_app
from studyhall.config import Settings
from tests.notifications.servers import free_port
from tests.pg import PgServer, fresh_database
from tests.study.api.fake_llm import FakeServer

ROLES = ("student", "tutor", "admin")
PASSWORD = "correct horse battery staple 9"


@dataclass
class LiveServer:
    base_url: str
    owner_url: str
    app: object

    def sign_in_as(self, role: str) -> dict[str, str]:
        """A new account of ``role`` and the header that authenticates it."""
        email = f"fuzz-{role}-{uuid.uuid4().hex[:10]}@example.org"
        body = {"email": email, "password": PASSWORD, "name": f"Fuzz {role}", "role": "student"}
        if role == "tutor":
            body["role"] = "tutor"
        response = httpx.post(f"{self.base_url}/api/v1/auth/sign-up", json=body, timeout=30)
        assert response.status_code == 201, response.text
        token = response.json()["access_token"]
        with psycopg.connect(self.owner_url, autocommit=True) as conn:
            if role == "admin":
                conn.execute("UPDATE users SET role = 'admin' WHERE email = %s", (email,))
            if role == "tutor":
                conn.execute(
                    "UPDATE tutor_profiles SET verification_status = 'verified' "
                    "WHERE user_id = (SELECT id FROM users WHERE email = %s)",
                    (email,),
                )
        return {"Authorization": f"Bearer {token}"}


def _serve_in_thread(server: uvicorn.Server) -> threading.Thread:
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the server under test did not start")
        time.sleep(0.05)
    return thread


@pytest.fixture(scope="module")
def live_server(pg_server: PgServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    name, urls = fresh_database(pg_server)
    home: Path = tmp_path_factory.mktemp("fuzz-home")
    fake_llm = FakeServer()
    fake_llm.start()
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        environment="test",
        database_url=urls.owner,
        app_database_url=urls.app,
        home=home,
        mail_outbox_dir=home / "outbox",
        in_process_worker=True,
        log_json=False,
        llm_base_url=fake_llm.base_url,
        llm_model="fake-gpt",
        llm_timeout_s=2.0,
        embedding_base_url=fake_llm.base_url,
        embedding_model="fake-embed",
    )
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_config=None, timeout_graceful_shutdown=2
        )
    )
    thread = _serve_in_thread(server)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", urls.owner, app)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        fake_llm.stop()
        pg_server.drop_database(name)
