"""Schema changes through Alembic (the only source of schema), run as the database owner.

After every upgrade the API role's privileges are re-applied: it may read and write every table
except the append-only ones, where it may only INSERT and SELECT, and the key row level security
checks identities with (``studyhall_rls_key``), which it may not touch at all. The upgrade also
installs that key, derived from the app's secret (``db/identity.py``).
"""

from __future__ import annotations

import io
import itertools
import re
from importlib.resources import files
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool, text
from sqlalchemy.engine import Connection

from studyhall.db.engine import sqlalchemy_url
from studyhall.db.identity import store_key

APPEND_ONLY_TABLES = ("audit_log", "credit_ledger", "guardian_consents", "xp_logs")
# Tables the API role gets no privilege on whatsoever.
OWNER_ONLY_TABLES = ("studyhall_rls_key",)

# Every migration waits at most 5 s for a lock (a long transaction holding one would otherwise
# make the migration wait, and every request queue behind the migration's own lock request) and
# runs no statement longer than 10 minutes. Session-level, so they cover every migration of a run.
MIGRATION_TIMEOUTS = ("SET lock_timeout = '5s'", "SET statement_timeout = '10min'")


# The audit log's monthly partitions (and its default one) are made by functions at run time;
# the model is the partitioned table.
_AUDIT_PARTITION = re.compile(r"^audit_log_(default|\d{4}_\d{2})$")


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """What autogenerate compares: procrastinate's tables come from its own schema script,
    partitions from the functions that make them, and the identity key table is the migrator's
    own (no app code maps it: the API role cannot read it)."""
    if type_ != "table" or name is None:
        return True
    return not (
        name.startswith("procrastinate_")
        or _AUDIT_PARTITION.match(name)
        or name in OWNER_ONLY_TABLES
    )


def alembic_config(owner_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(files("studyhall").joinpath("migrations")))
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(owner_url).replace("%", "%%"))
    config.attributes["owner_url"] = owner_url
    return config


# Where the database says which code may still run against it (see ``schema_compatible``):
# a comment on Alembic's own table, so no extra table is needed and any role can read it.
WINDOW_PREFIX = "studyhall: oldest compatible code "


def upgrade(
    owner_url: str, app_role: str | None, revision: str = "head", rls_key: bytes | None = None
) -> None:
    """Migrate to ``revision``; then grant ``app_role`` its privileges and install ``rls_key``
    (the key the app signs identities with; None keeps the installed one)."""
    command.upgrade(alembic_config(owner_url), revision)
    with _owner_engine(owner_url).begin() as conn:
        record_compatibility_window(conn)
        if rls_key is not None:
            store_key(conn, rls_key)
        if app_role:
            apply_grants(conn, app_role)


def oldest_compatible_code(at_revision: str) -> str:
    """The oldest code head that still works on a schema at ``at_revision``: every migration is an
    expand step (old code keeps working) unless its module says ``contract = True`` (it removes
    or changes something older code used); code from before the latest contract step is out."""
    script = ScriptDirectory.from_config(alembic_config("postgresql://"))
    chain = list(reversed(list(script.walk_revisions())))
    floor = chain[0].revision
    for previous, current in itertools.pairwise(chain):
        if getattr(current.module, "contract", False):
            floor = previous.revision
        if current.revision == at_revision:
            break
    return floor


def record_compatibility_window(conn: Connection) -> None:
    at = MigrationContext.configure(conn).get_current_revision()
    if at is None:
        return
    comment = WINDOW_PREFIX + oldest_compatible_code(at)
    conn.execute(text(f"COMMENT ON TABLE alembic_version IS '{comment}'"))


def schema_compatible(
    database_at: str | None, window: str | None, code_head: str | None, known: list[str]
) -> str:
    """ "ok" when code whose head is ``code_head`` may serve a database at ``database_at``, else
    why not. The database may be ahead of the code (expand, then deploy): then it names the oldest
    code it still supports, and this code must be at least that."""
    if database_at == code_head:
        return "ok"
    if database_at in known:
        return f"at {database_at}, behind the code's head {code_head}"
    floor = window.removeprefix(WINDOW_PREFIX) if window else None
    if floor in known and code_head in known and known.index(floor) <= known.index(code_head):
        return "ok"
    return f"at {database_at}, ahead of the code's head {code_head} and not compatible with it"


def downgrade(owner_url: str, revision: str) -> None:
    command.downgrade(alembic_config(owner_url), revision)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("postgresql://")).get_current_head()


def upgrade_sql(revision_range: str) -> str:
    """The SQL an upgrade over ``revision_range`` (e.g. ``0016_x:0017_y``) would run, with no
    database: what ``tests/foundation/test_migration_lint.py`` hands to squawk."""
    config = alembic_config("postgresql://offline")
    buffer = io.StringIO()
    config.output_buffer = buffer
    command.upgrade(config, revision_range, sql=True)
    return buffer.getvalue()


def revisions() -> list[str]:
    """Every revision, oldest first."""
    script = ScriptDirectory.from_config(alembic_config("postgresql://"))
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def current_revision(owner_url: str) -> str | None:
    with _owner_engine(owner_url).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def revision(owner_url: str, message: str, autogenerate: bool = True) -> Any:
    return command.revision(alembic_config(owner_url), message=message, autogenerate=autogenerate)


def _owner_engine(owner_url: str) -> Any:
    return create_engine(sqlalchemy_url(owner_url), poolclass=pool.NullPool)


def apply_grants(conn: Connection, app_role: str) -> None:
    role_exists = conn.execute(
        text("SELECT 1 FROM pg_roles WHERE rolname = :role"), {"role": app_role}
    ).scalar()
    if not role_exists:
        return
    quoted = conn.execute(text("SELECT quote_ident(:role)"), {"role": app_role}).scalar_one()
    conn.execute(text(f"GRANT USAGE ON SCHEMA public TO {quoted}"))
    conn.execute(
        text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {quoted}")
    )
    conn.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}"))
    conn.execute(text(f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {quoted}"))
    existing = conn.execute(
        text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename = ANY(:t)"),
        {"t": list(APPEND_ONLY_TABLES)},
    ).scalars()
    for table in existing:
        conn.execute(text(f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM {quoted}"))
    owner_only = conn.execute(
        text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename = ANY(:t)"),
        {"t": list(OWNER_ONLY_TABLES)},
    ).scalars()
    for table in owner_only:
        conn.execute(text(f"REVOKE ALL ON {table} FROM {quoted}"))
    # A partition is reached through its parent, whose privileges and policies apply; direct
    # access to a partition would skip them, so the API role gets none at all.
    partitions = conn.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent "
            "WHERE p.relname = ANY(:t) AND p.relnamespace = 'public'::regnamespace"
        ),
        {"t": list(APPEND_ONLY_TABLES)},
    ).scalars()
    for partition in partitions:
        conn.execute(text(f'REVOKE ALL ON "{partition}" FROM {quoted}'))
