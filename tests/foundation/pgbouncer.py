"""A real PgBouncer (the Debian package) in transaction mode, in front of the test's PostgreSQL.

Its ini file, user list, log and pid file live in a temporary directory of its own. PgBouncer
refuses to run as root: a root test run starts it as the user that runs the test server (the
embedded cluster's system user), which may also reach that server's Unix socket.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from tests.foundation.smtp import free_port

BINARY = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


@dataclass(frozen=True)
class Bouncer:
    port: int
    directory: Path

    def url(self, role: str, database: str) -> str:
        return f"postgresql://{role}@127.0.0.1:{self.port}/{database}"

    def log(self) -> str:
        return (self.directory / "pgbouncer.log").read_text(errors="replace")


def _server_address(direct_url: str) -> str:
    """The libpq ``host``/``port`` of the server behind ``direct_url`` (a socket dir or a host)."""
    url = make_url(direct_url)
    host = url.query.get("host") or url.host or "127.0.0.1"
    port = url.port or 5432
    return f"host={host} port={port}"


def _run_as(socket_or_host: str) -> str | None:
    """Who PgBouncer runs as: nobody but us unless we are root; then the socket's owner."""
    if os.geteuid() != 0:
        return None
    owner = Path(socket_or_host).stat().st_uid if socket_or_host.startswith("/") else None
    return pwd.getpwuid(owner).pw_name if owner not in (None, 0) else "nobody"


def _ini(directory: Path, port: int, database: str, server: str, pool_size: int) -> str:
    return f"""\
[databases]
{database} = {server} dbname={database}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {directory / "userlist.txt"}
pool_mode = transaction
default_pool_size = {pool_size}
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = 200
logfile = {directory / "pgbouncer.log"}
pidfile = {directory / "pgbouncer.pid"}
"""


@contextmanager
def pgbouncer(direct_url: str, roles: list[str], *, pool_size: int = 3) -> Iterator[Bouncer]:
    """PgBouncer in transaction mode with ``pool_size`` server connections per role, until the
    block ends. Its directory is a fresh one under the system's temporary directory: another
    user must be able to reach it, which pytest's own temporary directories do not allow."""
    with tempfile.TemporaryDirectory(prefix="studyhall-pgbouncer-") as name:
        yield from _running(direct_url, roles, Path(name), pool_size)


def _running(
    direct_url: str, roles: list[str], directory: Path, pool_size: int
) -> Iterator[Bouncer]:
    url = make_url(direct_url)
    database = str(url.database)
    server = _server_address(direct_url)
    port = free_port()
    (directory / "pgbouncer.ini").write_text(_ini(directory, port, database, server, pool_size))
    (directory / "userlist.txt").write_text("".join(f'"{role}" ""\n' for role in roles))
    user = _run_as(str(url.query.get("host") or ""))
    command = [BINARY, str(directory / "pgbouncer.ini")]
    if user is not None:
        entry = pwd.getpwnam(user)
        for path in (directory, *directory.iterdir()):
            os.chown(path, entry.pw_uid, entry.pw_gid)
        command[1:1] = ["-u", user]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    bouncer = Bouncer(port, directory)
    try:
        _wait_accepting(bouncer, roles[0], database, process)
        yield bouncer
    finally:
        process.send_signal(signal.SIGINT)  # PgBouncer's "shut down at once"
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_accepting(
    bouncer: Bouncer, role: str, database: str, process: subprocess.Popen[bytes]
) -> None:
    deadline = time.monotonic() + 15
    while True:
        if process.poll() is not None:
            output = process.stdout.read().decode() if process.stdout else ""
            raise RuntimeError(f"pgbouncer exited: {output}")
        try:
            with psycopg.connect(bouncer.url(role, database), connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
