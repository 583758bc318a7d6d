"""Alembic environment: migrations run as the database owner, in one transaction, with lock and
statement timeouts so a migration never queues behind a long transaction while every request
queues behind it (it fails fast instead, and is run again)."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import create_engine, pool

from studyhall import domains
from studyhall.db.base import Base
from studyhall.db.engine import sqlalchemy_url
from studyhall.db.migrate import MIGRATION_TIMEOUTS, include_name

domains.load_models()
config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    url = str(config.attributes.get("owner_url") or config.get_main_option("sqlalchemy.url"))
    if context.is_offline_mode():
        # The SQL each migration would run, without a database: what the migration linter reads.
        context.configure(
            url=sqlalchemy_url(url),
            target_metadata=target_metadata,
            literal_binds=True,
            transaction_per_migration=True,
        )
        with context.begin_transaction():
            _set_timeouts()
            context.run_migrations()
        return
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
        _set_timeouts()
        context.run_migrations()


def _set_timeouts() -> None:
    for statement in MIGRATION_TIMEOUTS:
        context.execute(statement)


run_migrations()
