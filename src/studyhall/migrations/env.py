"""Alembic environment: migrations run as the database owner, in one transaction."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import create_engine, pool

from studyhall import domains
from studyhall.db.base import Base
from studyhall.db.engine import sqlalchemy_url
from studyhall.db.migrate import include_name

domains.load_models()
config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    url = str(config.attributes.get("owner_url") or config.get_main_option("sqlalchemy.url"))
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_name=include_name,
        compare_type=True,
        compare_server_default=False,
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
