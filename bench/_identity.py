"""Signed identity for the benchmarks' direct SQL.

Row level security trusts only a signed claim (``studyhall.db.identity``): a bare
``set_config('app.user_id', ...)`` grants nothing, so a baseline that sets one reads and writes
no rows. The baselines state who they act for with the app's own statement and signature, keyed
by the same secret the benched server and the migrator use. A signature is good for
``SIGNATURE_LIFETIME_S`` from signing, checked against the transaction's start, so a baseline
signs per transaction (as the app does), never once per connection.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import psycopg

from studyhall.config import DEFAULT_SECRET_KEY, Settings
from studyhall.db.identity import SET_IDENTITY_SQL, Identity, rls_key, signed_settings

Statement = tuple[str, dict[str, Any]]


def bench_key(settings: Settings) -> bytes:
    """The signing key of ``settings``: the one its server signs with and its migrator installs."""
    return rls_key(settings.secret_key.get_secret_value())


def env_key(env: Mapping[str, str]) -> bytes:
    """The signing key of a server started with ``env`` (its ``STUDYHALL_SECRET_KEY``)."""
    return rls_key(env.get("STUDYHALL_SECRET_KEY", DEFAULT_SECRET_KEY))


def identity_statement(identity: Identity, key: bytes) -> Statement:
    """The statement that states ``identity`` for the current transaction, freshly signed."""
    return SET_IDENTITY_SQL, signed_settings(identity, key)


async def sign(conn: psycopg.AsyncConnection[Any], identity: Identity, key: bytes) -> None:
    """State ``identity`` inside the transaction ``conn`` is in."""
    await conn.execute(SET_IDENTITY_SQL, signed_settings(identity, key))


def is_identity(statement: str) -> bool:
    return "app.identity_signature" in statement


def _claimed(params: dict[str, Any]) -> Identity:
    """The identity a (captured, perhaps id-substituted) identity statement states."""
    uid = str(params.get("uid") or "")
    return Identity(
        user_id=uuid.UUID(uid) if uid else None,
        admin=params.get("role") == "admin",
        crosses_users=params.get("crossing") == "on",
    )


def resign(transaction: list[Statement], key: bytes) -> list[Statement]:
    """``transaction`` with every identity statement signed afresh: a captured signature lapses
    after a few minutes, and one whose user id was substituted never verified."""
    return [
        (sql, {**params, **signed_settings(_claimed(params), key)})
        if is_identity(sql)
        else (sql, params)
        for sql, params in transaction
    ]
