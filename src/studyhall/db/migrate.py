"""Schema changes through Alembic (the only source of schema), run as the database owner.

After every upgrade the API role's privileges are re-applied: it may read and write every table
except the append-only ones, where it may only INSERT and SELECT.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool, text
from sqlalchemy.engine import Connection

from studyhall.db.engine import sqlalchemy_url

APPEND_ONLY_TABLES = ("audit_log", "credit_ledger", "guardian_consents", "xp_logs")


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """What autogenerate compares: procrastinate's tables come from its own schema script."""
    return not (type_ == "table" and name is not None and name.startswith("procrastinate_"))


def alembic_config(owner_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(files("studyhall").joinpath("migrations")))
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(owner_url).replace("%", "%%"))
    config.attributes["owner_url"] = owner_url
    return config


def upgrade(owner_url: str, app_role: str | None, revision: str = "head") -> None:
    command.upgrade(alembic_config(owner_url), revision)
    if app_role:
        with _owner_engine(owner_url).begin() as conn:
            apply_grants(conn, app_role)


def downgrade(owner_url: str, revision: str) -> None:
    command.downgrade(alembic_config(owner_url), revision)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("postgresql://")).get_current_head()


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
