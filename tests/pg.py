"""The test run's PostgreSQL: the embedded cluster in a temporary directory, or DATABASE_URL.

The schema is migrated once into a template database; every test gets a fresh copy of it.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from studyhall.bootstrap import DatabaseUrls
from studyhall.config import DEFAULT_SECRET_KEY
from studyhall.db import embedded, migrate
from studyhall.db.engine import libpq_url
from studyhall.db.identity import rls_key

APP_ROLE = "studyhall_app"
OWNER_ROLE = embedded.OWNER_ROLE
TEMPLATE = "studyhall_template"
# The key the tests' settings (the default secret) sign identities with.
TEST_RLS_KEY = rls_key(DEFAULT_SECRET_KEY)
BUSY_APP_CONNECTIONS = """
SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND application_name = 'studyhall'
  AND state IN ('active', 'idle in transaction', 'idle in transaction (aborted)')
"""


@dataclass
class PgServer:
    superuser_url: str  # any database on it, as a role that may create databases and roles

    def url(self, database: str, role: str | None = None) -> str:
        parsed = make_url(self.superuser_url).set(database=database)
        if role is not None:
            parsed = parsed.set(username=role, password=None)
        return libpq_url(parsed.render_as_string(hide_password=False))

    def execute(self, statement: Any, database: str = "postgres") -> None:
        with psycopg.connect(self.url(database), autocommit=True) as conn:
            conn.execute(statement)

    def busy_app_connections(self, database: str) -> int:
        """How many of the app's pooled connections are running a statement or sit inside a
        transaction. Read as the superuser: another role cannot see a session's state."""
        with psycopg.connect(self.url(database), autocommit=True) as conn:
            row = conn.execute(BUSY_APP_CONNECTIONS).fetchone()
        assert row is not None
        return int(row[0])

    def create_database(self, name: str, template: str | None = None) -> DatabaseUrls:
        query = sql.SQL("CREATE DATABASE {} OWNER {}").format(
            sql.Identifier(name), sql.Identifier(OWNER_ROLE)
        )
        if template:
            query = query + sql.SQL(" TEMPLATE {} STRATEGY FILE_COPY").format(
                sql.Identifier(template)
            )
        self.execute(query)
        return DatabaseUrls(owner=self.url(name, OWNER_ROLE), app=self.url(name, APP_ROLE))

    def drop_database(self, name: str) -> None:
        self.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )

    def create_extensions(self, database: str) -> None:
        with psycopg.connect(self.url(database), autocommit=True) as conn:
            for extension in embedded.SUPERUSER_EXTENSIONS:
                conn.execute(
                    sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(extension))
                )


def start_test_server() -> PgServer:
    external = os.environ.get("DATABASE_URL")
    if external:
        server = PgServer(superuser_url=libpq_url(external))
        with psycopg.connect(server.url("postgres"), autocommit=True) as conn:
            embedded._ensure_role(conn, OWNER_ROLE, maintenance=True)
            embedded._ensure_role(conn, APP_ROLE)
        return server
    home = Path(tempfile.mkdtemp(prefix="studyhall-test-"))
    cluster = embedded.start(
        home, db_name="postgres", app_role=APP_ROLE, cleanup_mode="delete", tune_for_tests=True
    )
    return PgServer(superuser_url=cluster.superuser_url)


def build_template(server: PgServer) -> None:
    server.drop_database(TEMPLATE)
    urls = server.create_database(TEMPLATE)
    server.create_extensions(TEMPLATE)
    migrate.upgrade(urls.owner, APP_ROLE, rls_key=TEST_RLS_KEY)


def fresh_database(server: PgServer, empty: bool = False) -> tuple[str, DatabaseUrls]:
    name = f"test_{uuid.uuid4().hex[:12]}"
    if empty:
        urls = server.create_database(name)
        server.create_extensions(name)
        return name, urls
    return name, server.create_database(name, template=TEMPLATE)
