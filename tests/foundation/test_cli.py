"""The command line as an operator meets it: real processes, real ports, real data directories."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg

from studyhall.db import embedded
from tests.conftest import REPO
from tests.foundation.smtp import free_port


def _env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("STUDYHALL_") and k != "DATABASE_URL"
    }
    env["PYTHONPATH"] = str(REPO / "src")
    env["STUDYHALL_LOG_JSON"] = "false"
    env.update(extra)
    return env


def _studyhall(
    *args: str, cwd: Path, timeout: float = 60, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "studyhall.cli", *args],
        cwd=cwd,
        env=_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_unreachable_database_url_fails_with_one_clear_line(tmp_path: Path) -> None:
    port = free_port()
    result = _studyhall(
        "serve",
        "--port",
        str(free_port()),
        cwd=tmp_path,
        DATABASE_URL=f"postgresql://u@127.0.0.1:{port}/x",
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(
        f"studyhall: cannot reach the database at postgresql://u@127.0.0.1:{port}/x"
    )
    assert not (tmp_path / ".studyhall").exists()


def test_port_in_use_is_refused_clearly(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _studyhall("serve", "--port", str(port), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"studyhall: port {port} on 127.0.0.1 is already in use; choose another with --port"
    )


def test_an_invalid_setting_is_named(tmp_path: Path) -> None:
    result = _studyhall("db", "current", cwd=tmp_path, STUDYHALL_DB_POOL_SIZE="lots")
    assert result.returncode == 2
    assert "STUDYHALL_DB_POOL_SIZE" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@contextmanager
def _serving(home: Path, port: int) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "studyhall.cli", "serve", "--port", str(port)],
        cwd=home.parent,
        env=_env(STUDYHALL_HOME=str(home)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_ready(port: int, timeout: float = 60) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        try:
            response = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
            if response.status_code == 200 or time.monotonic() > deadline:
                return response
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.2)


def test_serve_keeps_data_across_restarts_and_two_servers_share_one_home(tmp_path: Path) -> None:
    home = tmp_path / "data"
    first, second = free_port(), free_port()
    with _serving(home, first):
        assert _wait_ready(first).status_code == 200
        signed_up = httpx.post(
            f"http://127.0.0.1:{first}/api/v1/auth/sign-up",
            json={"email": "keep@example.org", "password": "a fine passphrase", "name": "Keep"},
        )
        assert signed_up.status_code == 201
        with _serving(home, second):
            assert _wait_ready(second).status_code == 200
            both = httpx.post(
                f"http://127.0.0.1:{second}/api/v1/auth/sign-in",
                json={"email": "keep@example.org", "password": "a fine passphrase"},
            )
            assert both.status_code == 200
    with _serving(home, first):
        assert _wait_ready(first).status_code == 200
        again = httpx.post(
            f"http://127.0.0.1:{first}/api/v1/auth/sign-in",
            json={"email": "keep@example.org", "password": "a fine passphrase"},
        )
        assert again.status_code == 200


def test_backup_and_restore_round_trip(tmp_path: Path) -> None:
    home = tmp_path / "data"
    env = {"STUDYHALL_HOME": str(home)}
    # This process holds the cluster open, so the CLI runs attach to it instead of stopping it.
    cluster = embedded.start(home, db_name="studyhall", app_role="studyhall_app")
    try:
        assert _studyhall("db", "upgrade", cwd=tmp_path, **env).returncode == 0
        with psycopg.connect(cluster.owner_url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO users (email, name, password_hash) VALUES ('a@x.org', 'A', 'h')"
            )
        made = _studyhall("db", "backup", "--keep", "2", cwd=tmp_path, **env)
        assert made.returncode == 0, made.stderr
        [dump] = list((home / "backups").glob("studyhall-*.dump"))
        assert made.stdout.strip() == f"backup written to {dump}"
        with psycopg.connect(cluster.owner_url, autocommit=True) as conn:
            conn.execute("DELETE FROM users")
        restored = _studyhall("db", "restore", "--yes", str(dump), cwd=tmp_path, **env)
        assert restored.returncode == 0, restored.stderr
        with psycopg.connect(cluster.owner_url) as conn:
            emails = [row[0] for row in conn.execute("SELECT email FROM users")]
        assert emails == ["a@x.org"]
    finally:
        embedded.stop(home)
