"""Who a transaction acts for, as row level security sees it: a signed claim, not a setting.

A transaction's identity is three transaction-local settings: ``app.user_id`` (the person),
``app.user_role`` (``admin`` or empty) and ``app.cross_users`` (``on`` for units of work that act
across users). Any role can set any setting, so the settings alone prove nothing: the app also
sets ``app.identity_signature``, ``<expires>:<HMAC-SHA256 of the claim>``, keyed by a key derived
from the app's secret. The database holds the same key in a table only the owner reads, and the
policies ask ``studyhall_current_user()`` / ``studyhall_is_admin()`` /
``studyhall_crosses_users()`` (migration ``0024_rls_wall``), which answer only for a claim whose
signature verifies. SQL run as the API role (a bug, an injection) can set the settings but cannot
make a signature: it would need the key, which neither the role nor any setting exposes.

The expiry bounds a signature seen inside a transaction (by SQL running in it) to a few minutes;
the check uses the transaction's start time, so a long transaction is not cut short.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from dataclasses import dataclass, replace

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

# A new purpose string makes a new key: the key the database holds is never the app's secret
# itself (which also signs access tokens).
_KEY_PURPOSE = b"studyhall row level security identity v1"
# How long after signing a claim may start a transaction; clocks of the app's hosts and the
# database's must agree within this.
SIGNATURE_LIFETIME_S = 300
_BLOCK = 64  # SHA-256's block size, for the HMAC pads

# The one statement that states an identity (psycopg's named placeholders; ``_SET`` for
# SQLAlchemy).
SET_IDENTITY_SQL = (
    "SELECT set_config('app.user_id', %(uid)s, true), set_config('app.user_role', %(role)s, true), "
    "set_config('app.cross_users', %(crossing)s, true), "
    "set_config('app.identity_signature', %(signature)s, true)"
)
_SET = text(SET_IDENTITY_SQL.replace("%(", ":").replace(")s", ""))
_KEY_INFO = "studyhall.rls_key"
_STATE_INFO = "studyhall.identity"
# Stands for "no statement sent yet in this transaction" (never a savepoint).
_NEVER_SENT = object()


@dataclass(frozen=True)
class Identity:
    user_id: uuid.UUID | None = None
    admin: bool = False
    crosses_users: bool = False


NOBODY = Identity()


def rls_key(secret_key: str) -> bytes:
    """The signing key, derived from the app's secret."""
    return hmac.new(secret_key.encode(), _KEY_PURPOSE, hashlib.sha256).digest()


def signed_settings(identity: Identity, key: bytes, now: float | None = None) -> dict[str, str]:
    """The four settings that state ``identity``, the last one its signature."""
    uid = "" if identity.user_id is None else str(identity.user_id)
    role = "admin" if identity.admin else ""
    crossing = "on" if identity.crosses_users else ""
    expires = int(time.time() if now is None else now) + SIGNATURE_LIFETIME_S
    claim = f"{expires}|{uid}|{role}|{crossing}"
    mac = hmac.new(key, claim.encode(), hashlib.sha256).hexdigest()
    return {"uid": uid, "role": role, "crossing": crossing, "signature": f"{expires}:{mac}"}


def session_info(key: bytes) -> dict[str, object]:
    """What a session factory gives each session so it can sign (``async_sessionmaker(info=)``)."""
    return {_KEY_INFO: key}


async def declare(session: AsyncSession, **change: object) -> Identity:
    """Change the transaction's identity (``user_id``, ``admin``, ``crosses_users``) and state it
    to the database in one statement. What was declared earlier in the same transaction stays."""
    key = session.info.get(_KEY_INFO)
    if not isinstance(key, bytes):
        raise RuntimeError("this session cannot sign an identity: its Database has no settings")
    transaction = session.get_transaction()
    held = session.info.get(_STATE_INFO)
    if not isinstance(held, tuple) or held[0] is not transaction:
        held = (transaction, NOBODY, _NEVER_SENT)
    current = held[1]
    identity: Identity = replace(current, **change)
    # Declared already, unchanged, and no savepoint begun or rolled back since (a rolled back
    # savepoint takes its settings with it): the database holds this identity, so no statement.
    # A booking's steps each declare what they need; the repeats cost no round trip.
    savepoint = session.get_nested_transaction()
    if current == identity and held[2] is savepoint:
        return identity
    await session.execute(_SET, signed_settings(identity, key))
    session.info[_STATE_INFO] = (session.get_transaction(), identity, savepoint)
    return identity


def key_pads(key: bytes) -> tuple[bytes, bytes]:
    """HMAC's inner and outer padded keys: the database computes the HMAC from these."""
    block = key.ljust(_BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in block), bytes(b ^ 0x5C for b in block)


def store_key(conn: Connection, key: bytes) -> None:
    """Install the key the database checks signatures with (as the owner, after migrating)."""
    exists = conn.execute(text("SELECT to_regclass('studyhall_rls_key') IS NOT NULL")).scalar()
    if not exists:
        return
    inner, outer = key_pads(key)
    conn.execute(
        text(
            "INSERT INTO studyhall_rls_key (id, inner_pad, outer_pad) VALUES (true, :i, :o) "
            "ON CONFLICT (id) DO UPDATE SET inner_pad = EXCLUDED.inner_pad, "
            "outer_pad = EXCLUDED.outer_pad"
        ),
        {"i": inner, "o": outer},
    )
