"""Where the database is: the embedded cluster under ``STUDYHALL_HOME`` or ``DATABASE_URL``."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from studyhall.config import Settings
from studyhall.db import embedded
from studyhall.db.engine import libpq_url
from studyhall.db.identity import SET_IDENTITY_SQL, Identity, rls_key, signed_settings

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
    # Without an app URL, the maintenance commands (migrate, backup) still work; serving and
    # running jobs is refused by ``check_app_role``, which finds the owner here.
    app = libpq_url(settings.app_database_url or settings.database_url)
    return DatabaseUrls(owner=owner, app=app)


class UnsafeAppRole(RuntimeError):
    """The role the API and the jobs would run as could pass row level security."""


# What makes a role able to read past row level security: being a superuser, having BYPASSRLS,
# or having the privileges of a table's owner (owning a table, or being a member of its owner).
_ROLE_POWERS = """
SELECT r.rolsuper, r.rolbypassrls,
       EXISTS (SELECT 1 FROM pg_class c
               WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v')
                 AND pg_has_role(current_user, c.relowner, 'USAGE'))
FROM pg_roles r WHERE r.rolname = current_user
"""


def check_app_role(app_url: str, settings: Settings) -> None:
    """Refuse to serve or run jobs as a role that row level security would not bind, or on a
    database that does not accept this process's signed identities (another secret)."""
    with psycopg.connect(app_url, connect_timeout=min(settings.db_connect_timeout_s, 10)) as conn:
        row = conn.execute(_ROLE_POWERS).fetchone()
        assert row is not None
        superuser, bypass, owner = row
        powers = [
            name
            for name, held in (
                ("a superuser", superuser),
                ("BYPASSRLS", bypass),
                ("a table owner", owner),
            )
            if held
        ]
        if powers:
            power = " and ".join(powers)
            unset = (
                " (STUDYHALL_APP_DATABASE_URL is not set, so the owner's URL was used)"
                if settings.app_database_url is None and not settings.embedded
                else ""
            )
            raise UnsafeAppRole(
                f"the API and worker role {conn.info.user!r} is {power}{unset}: row level "
                "security would not protect one user's rows from another's. Connect with a role "
                "that owns nothing and has neither SUPERUSER nor BYPASSRLS (docs/operations.md)."
            )
        _check_signatures_accepted(conn, settings)


def _check_signatures_accepted(
    conn: psycopg.Connection[tuple[Any, ...]], settings: Settings
) -> None:
    probe = Identity(user_id=uuid.uuid4())
    values = signed_settings(probe, rls_key(settings.secret_key.get_secret_value()))
    try:
        with conn.transaction():
            conn.execute(SET_IDENTITY_SQL, values)
            seen = conn.execute("SELECT studyhall_current_user()").fetchone()
    except psycopg.errors.UndefinedFunction as exc:
        raise UnsafeAppRole(
            "the database has no signed identities yet: run `studyhall db upgrade` first"
        ) from exc
    if seen is None or seen[0] != probe.user_id:
        raise UnsafeAppRole(
            "the database does not accept this process's signed identities: its key was "
            "installed with another STUDYHALL_SECRET_KEY. Run `studyhall db upgrade` with this "
            "process's secret (every process of a deployment shares one secret)."
        )


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
