"""A real Studyhall server for the fuzzer: uvicorn in a thread on a fresh database, a fake model
server, and a signed-in student, tutor and admin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from studyhall.app import create_app
from studyhall.config import Settings
from tests.conftest import REPO
from tests.notifications.servers import free_port
from tests.pg import PgServer, fresh_database
from tests.study.api.fake_llm import FakeServer

ROLES = ("student", "tutor", "admin")
PASSWORD = "correct horse battery staple 9"


@dataclass
class LiveServer:
    base_url: str
    owner_url: str
    openapi: dict[str, Any]
    log: Path

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


@contextmanager
def identity_provider_keys() -> Iterator[str]:
    """A JWKS endpoint with no keys: external sign-in is configured, and no token verifies."""

    class Keys(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"keys": []}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Keys)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    finally:
        server.shutdown()
        server.server_close()


def _server_environment(settings: dict[str, str], home: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("STUDYHALL_") and k != "DATABASE_URL"
    }
    env.update(settings)
    env.update(PYTHONPATH=str(REPO / "src"), STUDYHALL_HOME=str(home))
    return env


def _wait_until_serving(base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while process.poll() is None and time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/readyz", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server under test did not become ready:\n{log.read_text()[-4000:]}")


@pytest.fixture(scope="module")
def fuzzed_server(
    pg_server: PgServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """``uvicorn`` in its own process (the fuzzer and the server each get a core), with the
    in-process job worker, the fake model server and a configured external sign-in."""
    name, urls = fresh_database(pg_server)
    home: Path = tmp_path_factory.mktemp("fuzz-home")
    log = home / "server.log"
    with ExitStack() as cleanup:
        cleanup.callback(pg_server.drop_database, name)
        fake_llm = FakeServer()
        fake_llm.start()
        cleanup.callback(fake_llm.stop)
        settings = {
            "STUDYHALL_ENVIRONMENT": "test",
            "DATABASE_URL": urls.owner,
            "STUDYHALL_APP_DATABASE_URL": urls.app,
            "STUDYHALL_LOG_JSON": "false",
            "STUDYHALL_LOG_LEVEL": "WARNING",
            "STUDYHALL_LLM_BASE_URL": fake_llm.base_url,
            "STUDYHALL_LLM_MODEL": "fake-gpt",
            "STUDYHALL_LLM_TIMEOUT_S": "2",
            "STUDYHALL_EMBEDDING_BASE_URL": fake_llm.base_url,
            "STUDYHALL_EMBEDDING_MODEL": "fake-embed",
            "STUDYHALL_OIDC_ISSUER": "https://id.example.org",
            "STUDYHALL_OIDC_AUDIENCE": "studyhall",
            "STUDYHALL_OIDC_JWKS_URL": cleanup.enter_context(identity_provider_keys()),
        }
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        output = cleanup.enter_context(log.open("wb"))
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "studyhall.app:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            cwd=home,
            env=_server_environment(settings, home),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_serving(base_url, process, log)
            # The document as the server builds it, without a database.
            openapi = create_app(Settings(_env_file=None, database_url=urls.owner)).openapi()  # type: ignore[call-arg]
            yield LiveServer(base_url, urls.owner, openapi, log)
        finally:
            process.terminate()
            process.wait(30)
