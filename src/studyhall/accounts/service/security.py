"""Password hashing (argon2id, OWASP parameters) and our own access tokens (JWT)."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from importlib.resources import files

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from studyhall.accounts.schemas import MAX_PASSWORD, MIN_PASSWORD

ACCESS_TOKEN_TTL = timedelta(minutes=15)
REFRESH_TOKEN_TTL = timedelta(days=30)
ISSUER = "studyhall"
AUDIENCE = "studyhall-api"
ALGORITHM = "HS256"

# OWASP: argon2id with m = 19 MiB, t = 2, p = 1.
hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verifying against this keeps "unknown email" as slow as "wrong password".
_DUMMY_HASH = hasher.hash("studyhall-timing-equalizer")

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_micros(instant: datetime) -> int:
    """Exact integer microseconds since the epoch (float timestamps lose the last digit)."""
    return (instant - EPOCH) // timedelta(microseconds=1)


def hash_password(password: str) -> str:
    return hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def hash_password_async(password: str) -> str:
    """argon2 takes tens of milliseconds of CPU; off the event loop, other requests keep flowing
    (argon2-cffi releases the GIL while hashing)."""
    return await asyncio.to_thread(hasher.hash, password)


async def verify_password_async(password_hash: str | None, password: str) -> bool:
    return await asyncio.to_thread(verify_password, password_hash, password)


def needs_rehash(password_hash: str) -> bool:
    return hasher.check_needs_rehash(password_hash)


@lru_cache
def common_passwords() -> frozenset[str]:
    text = files("studyhall.accounts").joinpath("common_passwords.txt").read_text()
    lines = (line.strip().lower() for line in text.splitlines())
    return frozenset(line for line in lines if line and not line.startswith("#"))


def password_problem(password: str) -> str | None:
    """Why a new password is refused, or None. Length and commonness only (NIST 800-63B)."""
    if len(password) < MIN_PASSWORD:
        return f"Use at least {MIN_PASSWORD} characters."
    if len(password) > MAX_PASSWORD:
        return f"Use at most {MAX_PASSWORD} characters."
    if password.lower() in common_passwords():
        return "This password is among the most common ones; choose another."
    return None


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    role: str
    issued_at: datetime
    # The sign-in this token belongs to (its refresh token family): signing out ends it.
    session_id: uuid.UUID | None


def issue_access_token(
    user_id: uuid.UUID,
    role: str,
    secret: str,
    now: datetime | None = None,
    session_id: uuid.UUID | None = None,
) -> str:
    """``session_id`` None: a token no sign-out can end early, only the user-wide cut-off
    (sign-out everywhere, password change, suspension, deletion). The API always passes one;
    tests and benchmarks that mint tokens for users made behind its back do not."""
    now = now or datetime.now(UTC)
    payload = {
        "sub": str(user_id),
        "role": role,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int((now + ACCESS_TOKEN_TTL).timestamp()),
        "jti": secrets.token_hex(8),
        # ``iat`` has whole seconds; revocation ("sign out everywhere") needs the exact instant.
        "iat_us": to_micros(now),
    }
    if session_id is not None:
        payload["sid"] = str(session_id)
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


# Verifying a token costs PyJWT a large share of an authenticated read (it re-examines the key
# on every call), and a client sends the same token with every request of its 15 minutes. So a
# verified token's claims are kept, keyed by the secret and the token itself, and reused only
# inside the window the token was valid in when verified (``nbf``/``iat`` to ``exp``): an expired
# token is verified again, and refused. Only the signature check is saved: whether the token's
# sign-in is still live, the account active and the token newer than the account's cut-off is
# asked of the database on every request (``users.signed_in_user``), so a sign-out or a
# suspension counts from the next request as before. Invalid tokens are never kept.
VERIFIED_TOKENS_KEPT = 4096
_verified: dict[tuple[str, str], tuple[AccessClaims, float, float]] = {}


def decode_access_token(token: str, secret: str) -> AccessClaims:
    """Raises ``jwt.InvalidTokenError`` for anything but a valid, current token of ours."""
    key = (secret, token)
    kept = _verified.get(key)
    now = time.time()
    if kept is not None:
        claims, valid_from, expires = kept
        if valid_from <= now < expires:
            return claims
        _verified.pop(key, None)
    claims, valid_from, expires = _verify(token, secret)
    if len(_verified) >= VERIFIED_TOKENS_KEPT:
        # The oldest verification goes first (dicts keep insertion order).
        _verified.pop(next(iter(_verified)), None)
    _verified[key] = (claims, valid_from, expires)
    return claims


def _verify(token: str, secret: str) -> tuple[AccessClaims, float, float]:
    """The token's claims and the window (seconds since the epoch) PyJWT accepts it in."""
    claims = jwt.decode(
        token,
        secret,
        algorithms=[ALGORITHM],
        audience=AUDIENCE,
        issuer=ISSUER,
        options={"require": ["sub", "exp", "iat", "iss", "aud"]},
    )
    try:
        user_id = uuid.UUID(claims["sub"])
    except (ValueError, TypeError) as exc:
        raise jwt.InvalidTokenError("malformed subject") from exc
    iat_us = claims.get("iat_us")
    # Tokens minted before ``iat_us`` existed keep their old meaning: valid through the end of
    # their ``iat`` second.
    issued_at = (
        EPOCH + timedelta(microseconds=iat_us)
        if isinstance(iat_us, int)
        else datetime.fromtimestamp(int(claims["iat"]), UTC) + timedelta(microseconds=999_999)
    )
    access = AccessClaims(
        user_id=user_id,
        role=str(claims.get("role", "")),
        issued_at=issued_at,
        session_id=_session_id(claims.get("sid")),
    )
    valid_from = max(float(claims.get("nbf", 0)), float(claims["iat"]))
    return access, valid_from, float(claims["exp"])


def _session_id(value: object) -> uuid.UUID | None:
    if value is None:
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise jwt.InvalidTokenError("malformed session id") from exc


def new_opaque_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
