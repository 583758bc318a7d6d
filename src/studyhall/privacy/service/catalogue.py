"""Where a user's data lives, read from the table metadata so a new table is covered by itself.

A *user reference* is a column holding a user's id: a foreign key to ``users.id`` or, for the
few tables that keep the id without a foreign key, a column named ``user_id``. Export and erasure
walk this list; the tests compare it with the database's own catalogue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Column, Table

from studyhall.db.base import Base
from studyhall.domains import load_models

# Secrets are never exported: password and token hashes, encrypted provider tokens.
SECRET_COLUMNS = frozenset(
    {
        "password_hash",
        "token_hash",
        "token_sha256",
        "token_encrypted",
        "access_token_encrypted",
        "refresh_token_encrypted",
        "encryption_key_id",
    }
)
# Derived search data: rebuilt from the text it indexes, meaningless outside the platform.
DERIVED_COLUMNS = frozenset({"search_vector", "embedding"})


@dataclass(frozen=True)
class UserTable:
    name: str
    user_columns: tuple[str, ...]
    columns: tuple[str, ...]

    @property
    def exported_columns(self) -> tuple[str, ...]:
        skip = SECRET_COLUMNS | DERIVED_COLUMNS
        return tuple(column for column in self.columns if column not in skip)


def _references_a_user(column: Column[object]) -> bool:
    if any(fk.target_fullname == "users.id" for fk in column.foreign_keys):
        return True
    return column.name == "user_id"


def _user_table(table: Table) -> UserTable | None:
    if table.name == "users":
        return UserTable("users", ("id",), tuple(c.name for c in table.columns))
    references = tuple(c.name for c in table.columns if _references_a_user(c))
    if not references:
        return None
    return UserTable(table.name, references, tuple(c.name for c in table.columns))


def user_tables() -> Sequence[UserTable]:
    """Every table holding rows about a user, parents before children."""
    load_models()
    found = (_user_table(table) for table in Base.metadata.sorted_tables)
    return [table for table in found if table is not None]
