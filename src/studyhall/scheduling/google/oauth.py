"""Connecting a user's Google Calendar: OAuth 2.0 authorization code with PKCE and ``state``.

1. ``authorization_url`` makes a PKCE verifier (S256 challenge) and a ``state`` that carries the
   user, the verifier and an expiry, AES-GCM encrypted with the key ring (``STUDYHALL_ENCRYPTION_
   KEYS``): no table, the browser cannot read the verifier or forge a state for someone else.
2. Google sends the browser back to the callback with ``code`` and ``state``; ``exchange``
   swaps the code (with the verifier) for tokens, with no transaction open, and the tokens are
   stored encrypted through ``accounts.oauth.link``.
3. ``fresh_access`` refreshes an access token that expires within ``REFRESH_AHEAD`` (read,
   refresh with no transaction open, store); ``revoke`` revokes the refresh token at Google
   before the account is disconnected (the route, and the wind-down of a deleted account,
   before erasure removes the row).

Scopes are only ``calendar.events`` and ``calendar.freebusy``; a grant without the events scope
is refused. Google's user id needs another scope (``openid``), so the stored account id is ours:
one Google Calendar connection per Studyhall user.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts import service as oauth
from studyhall.accounts.models import OAuthAccount
from studyhall.accounts.service import EncryptionKeyError, KeyRing
from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.kit.errors import BadRequest, ServiceUnavailable, Unprocessable
from studyhall.scheduling.config import SchedulingSettings, scheduling_settings

PROVIDER = "google"
EVENTS_SCOPE = "https://www.googleapis.com/auth/calendar.events"
FREEBUSY_SCOPE = "https://www.googleapis.com/auth/calendar.freebusy"
SCOPES = (EVENTS_SCOPE, FREEBUSY_SCOPE)
STATE_TTL = timedelta(minutes=10)
REFRESH_AHEAD = timedelta(minutes=5)
_STATE_AAD = b"studyhall google oauth state"


def _configured() -> tuple[SchedulingSettings, str, str]:
    config = scheduling_settings()
    if not config.google_oauth_client_id or not config.google_oauth_redirect_url:
        raise Unprocessable(
            "Google Calendar is not configured: set STUDYHALL_GOOGLE_OAUTH_CLIENT_ID, "
            "STUDYHALL_GOOGLE_OAUTH_CLIENT_SECRET and STUDYHALL_GOOGLE_OAUTH_REDIRECT_URL.",
            code="google_not_configured",
        )
    return config, config.google_oauth_client_id, config.google_oauth_redirect_url


def _keys(settings: Settings) -> KeyRing:
    try:
        return KeyRing.from_settings(settings)
    except EncryptionKeyError as exc:
        raise Unprocessable(
            "Connecting Google needs STUDYHALL_ENCRYPTION_KEYS (tokens are stored encrypted).",
            code="google_not_configured",
        ) from exc


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def authorization_url(settings: Settings, user_id: uuid.UUID, now: datetime) -> str:
    config, client_id, redirect = _configured()
    keys = _keys(settings)
    verifier = _b64(secrets.token_bytes(48))
    challenge = _b64(hashlib.sha256(verifier.encode()).digest())
    inner = json.dumps({"u": str(user_id), "v": verifier, "e": int((now + STATE_TTL).timestamp())})
    state = f"{keys.current}.{_b64(keys.encrypt(inner, _STATE_AAD))}"
    query = {
        "client_id": client_id,
        "redirect_uri": redirect,
        "response_type": "code",
        "scope": " ".join(SCOPES),
        "access_type": "offline",
        "prompt": "consent",
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    return f"{config.google_oauth_auth_url}?{urlencode(query)}"


@dataclass(frozen=True)
class ConsentState:
    user_id: uuid.UUID
    verifier: str


def read_state(settings: Settings, state: str, now: datetime) -> ConsentState:
    """The user and verifier a ``state`` of ours carries; anything else is 400."""
    keys = _keys(settings)
    try:
        kid, _, blob = state.partition(".")
        inner = json.loads(keys.decrypt(kid, _unb64(blob), _STATE_AAD))
        user_id, verifier, expires = uuid.UUID(inner["u"]), str(inner["v"]), int(inner["e"])
    except (EncryptionKeyError, binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise BadRequest("The state is not one this server made.", code="invalid_state") from exc
    if now.timestamp() > expires:
        raise BadRequest("The consent took too long; start again.", code="state_expired")
    return ConsentState(user_id, verifier)


@dataclass(frozen=True)
class GrantedTokens:
    access_token: str
    refresh_token: str | None
    expires_at: datetime | None
    scopes: list[str]


async def _token_call(form: dict[str, str]) -> dict[str, object]:
    config = scheduling_settings()
    secret = config.google_oauth_client_secret
    form = {
        **form,
        "client_id": config.google_oauth_client_id or "",
        "client_secret": "" if secret is None else secret.get_secret_value(),
    }
    try:
        async with httpx.AsyncClient(timeout=config.google_calendar_timeout_s) as http:
            response = await http.post(config.google_oauth_token_url, data=form)
    except httpx.HTTPError as exc:
        raise ServiceUnavailable("Google could not be reached.", code="google_unavailable") from exc
    if response.status_code >= 500:
        raise ServiceUnavailable("Google could not answer.", code="google_unavailable")
    body = response.json()
    if response.status_code != 200 or not isinstance(body, dict):
        error = body.get("error") if isinstance(body, dict) else None
        raise BadRequest(f"Google refused the grant ({error}).", code="google_grant_refused")
    return body


def _granted(body: dict[str, object], now: datetime, scope_hint: str | None) -> GrantedTokens:
    access = body.get("access_token")
    if not isinstance(access, str):
        raise BadRequest("Google answered without an access token.", code="google_grant_refused")
    expires_in = body.get("expires_in")
    refresh = body.get("refresh_token")
    scope = body.get("scope") if isinstance(body.get("scope"), str) else scope_hint
    return GrantedTokens(
        access_token=access,
        refresh_token=refresh if isinstance(refresh, str) else None,
        expires_at=now + timedelta(seconds=int(expires_in))
        if isinstance(expires_in, int)
        else None,
        scopes=sorted(set(str(scope or "").split())),
    )


async def exchange(code: str, verifier: str, now: datetime) -> GrantedTokens:
    _, _, redirect = _configured()
    body = await _token_call(
        {
            "code": code,
            "code_verifier": verifier,
            "grant_type": "authorization_code",
            "redirect_uri": redirect,
        }
    )
    granted = _granted(body, now, None)
    if EVENTS_SCOPE not in granted.scopes:
        raise BadRequest(
            "Calendar access was not granted; tick the calendar box on Google's page.",
            code="calendar_scope_missing",
        )
    return granted


async def store(
    session: AsyncSession,
    keys: KeyRing,
    user_id: uuid.UUID,
    granted: GrantedTokens,
    *,
    refresh_token: str | None = None,
    calendar_id: str | None = None,
) -> OAuthAccount:
    return await oauth.link(
        session,
        keys,
        user_id,
        provider=PROVIDER,
        provider_account_id=f"studyhall-user:{user_id}",
        access_token=granted.access_token,
        refresh_token=granted.refresh_token or refresh_token,
        expires_at=granted.expires_at,
        scopes=[s for s in granted.scopes if s in SCOPES],
        calendar_id=calendar_id or "primary",
    )


async def connection(session: AsyncSession, user_id: uuid.UUID) -> OAuthAccount | None:
    accounts = [a for a in await oauth.for_user(session, user_id) if a.provider == PROVIDER]
    return accounts[-1] if accounts else None


async def fresh_access(
    database: Database, settings: Settings, user_id: uuid.UUID, now: datetime
) -> None:
    """Refresh the user's Google access token if it expires within ``REFRESH_AHEAD``.

    Read in one transaction, Google called with none open, stored in another (only if the
    account was not changed meanwhile). Without keys, a refresh token or a connection: nothing.
    """
    if settings.encryption_keys is None or not scheduling_settings().google_oauth_client_id:
        return
    keys = KeyRing.from_settings(settings)
    async with database.transaction(user_id) as session:
        account = await connection(session, user_id)
        if account is None or account.token_expires_at is None:
            return
        if account.token_expires_at - now > REFRESH_AHEAD:
            return
        tokens = await oauth.tokens(session, keys, account.id)
        seen, calendar_id = account.updated_at, account.calendar_id
    if tokens.refresh_token is None:
        return
    body = await _token_call({"grant_type": "refresh_token", "refresh_token": tokens.refresh_token})
    granted = _granted(body, now, " ".join(account.scopes))
    async with database.transaction(user_id) as session:
        current = await connection(session, user_id)
        if current is None or current.updated_at != seen:
            return
        await store(
            session,
            keys,
            user_id,
            granted,
            refresh_token=tokens.refresh_token,
            calendar_id=calendar_id,
        )


async def revoke_and_disconnect(database: Database, settings: Settings, user_id: uuid.UUID) -> bool:
    """Revoke the grant at Google (no transaction open), then erase the stored tokens.

    Returns False when the user had no Google connection. Google answering that the token is
    already invalid counts as revoked; Google unreachable is 503 and nothing is erased, so the
    user can try again rather than keep a live grant we no longer know about.
    """
    async with database.transaction(user_id) as session:
        account = await connection(session, user_id)
        if account is None:
            return False
        token = None
        if settings.encryption_keys is not None:
            tokens = await oauth.tokens(session, KeyRing.from_settings(settings), account.id)
            token = tokens.refresh_token or tokens.access_token
        account_id = account.id
    if token:
        config = scheduling_settings()
        try:
            async with httpx.AsyncClient(timeout=config.google_calendar_timeout_s) as http:
                answered = await http.post(config.google_oauth_revoke_url, data={"token": token})
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(
                "Google could not be reached to revoke access.", code="google_unavailable"
            ) from exc
        if answered.status_code >= 500:
            raise ServiceUnavailable("Google could not answer.", code="google_unavailable")
    async with database.transaction(user_id) as session:
        await oauth.disconnect(session, user_id, account_id)
    return True


async def choose_calendar(session: AsyncSession, user_id: uuid.UUID, calendar_id: str) -> None:
    """The user's live Google connection writes to and reads busy times from ``calendar_id``."""
    await session.execute(
        update(OAuthAccount)
        .where(
            OAuthAccount.user_id == user_id,
            OAuthAccount.provider == PROVIDER,
            OAuthAccount.deleted_at.is_(None),
        )
        .values(calendar_id=calendar_id)
    )


def utcnow() -> datetime:
    return datetime.now(UTC)
