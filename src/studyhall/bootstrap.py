"""Where the database is: the embedded cluster under ``STUDYHALL_HOME`` or ``DATABASE_URL``."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import psycopg
from sqlalchemy.engine import make_url

from studyhall.config import Settings
from studyhall.db import embedded
from studyhall.db.engine import libpq_url

log = logging.getLogger(__name__)


class DatabaseUnreachable(RuntimeError):
    pass


@dataclass(frozen=True)
class DatabaseUrls:
    owner: str
    app: str


def resolve_database(settings: Settings, *, cleanup_mode: str | None = "stop") -> DatabaseUrls:
    """Start the embedded cluster when no ``DATABASE_URL`` is set; never start it otherwise."""
    if settings.database_url is None:
        try:
            cluster = embedded.start(
                settings.home,
                db_name=settings.db_name,
                app_role=settings.app_db_role,
                cleanup_mode=cleanup_mode,
            )
        except embedded.ServerConflict as exc:
            raise DatabaseUnreachable(str(exc)) from exc
        return DatabaseUrls(owner=cluster.owner_url, app=cluster.app_url)
    owner = libpq_url(settings.database_url)
    check_reachable(owner, settings.db_connect_timeout_s)
    if settings.app_database_url is None:
        log.warning(
            "STUDYHALL_APP_DATABASE_URL is not set: the API uses the owner role, so the "
            "append-only and row-level rules are not enforced by the database"
        )
    app = libpq_url(settings.app_database_url or settings.database_url)
    return DatabaseUrls(owner=owner, app=app)


def check_reachable(url: str, timeout_s: int) -> None:
    try:
        with psycopg.connect(url, connect_timeout=min(timeout_s, 10)) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatabaseUnreachable(
            f"cannot reach the database at {_redacted(url)}: {reason}"
        ) from exc


def _redacted(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)
