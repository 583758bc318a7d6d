"""External identity: ID tokens of one OIDC provider (Clerk, Supabase, Google, ...).

The signature is checked against the provider's JWKS, fetched with PyJWT's ``PyJWKClient``: the
key set is cached and fetched again when a token names a ``kid`` it does not hold (key
rotation). Only asymmetric algorithms are accepted, so neither ``none`` nor an HMAC "signed"
with the public key can pass.
"""

from __future__ import annotations

import asyncio
from typing import Any

import jwt
from jwt import PyJWKClient, PyJWKClientConnectionError, PyJWKClientError
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import User
from studyhall.accounts.service.profiles import ensure_profile
from studyhall.audit import service as audit
from studyhall.config import Settings
from studyhall.db.engine import set_current_user
from studyhall.kit.errors import Conflict, ServiceUnavailable, Unauthorized

_INVALID = "The identity token is invalid, expired or not meant for this service."


class OidcVerifier:
    def __init__(self, settings: Settings) -> None:
        if not (settings.oidc_issuer and settings.oidc_jwks_url and settings.oidc_audience):
            raise ServiceUnavailable(
                "External sign-in is not configured on this server.", code="oidc_not_configured"
            )
        self.issuer = settings.oidc_issuer
        self.audience = settings.oidc_audience
        self.algorithms = list(settings.oidc_algorithms)
        self.jwks = PyJWKClient(
            settings.oidc_jwks_url,
            cache_jwk_set=True,
            lifespan=max(settings.oidc_jwks_cache_s, 1),
            timeout=10,
            cooldown_duration=settings.oidc_jwks_refresh_cooldown_s,
        )

    async def verify(self, token: str) -> dict[str, Any]:
        """The token's claims; ``Unauthorized`` for anything but a valid token for us."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise Unauthorized(_INVALID, code="invalid_token") from exc
        if header.get("alg") not in self.algorithms:
            raise Unauthorized(_INVALID, code="invalid_token")
        try:
            signing_key = await asyncio.to_thread(self.jwks.get_signing_key_from_jwt, token)
        except PyJWKClientConnectionError as exc:
            raise ServiceUnavailable(
                "The identity provider's keys cannot be fetched; try again shortly.",
                code="oidc_unavailable",
            ) from exc
        except (PyJWKClientError, jwt.InvalidTokenError) as exc:
            raise Unauthorized(_INVALID, code="invalid_token") from exc
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                signing_key.key,
                algorithms=self.algorithms,
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.InvalidTokenError as exc:
            raise Unauthorized(_INVALID, code="invalid_token") from exc
        return claims


def verifier_for(holder: Any, settings: Settings) -> OidcVerifier:
    """One verifier (and so one JWKS cache) per application, kept on ``holder`` (its state)."""
    verifier: OidcVerifier | None = getattr(holder, "oidc_verifier", None)
    if verifier is None:
        verifier = OidcVerifier(settings)
        holder.oidc_verifier = verifier
    return verifier


async def user_for_claims(session: AsyncSession, claims: dict[str, Any], provider: str) -> User:
    """The user this identity belongs to: found by provider id, else linked or created."""
    subject = str(claims["sub"])[:255]
    user = await _by_identity(session, provider, subject)
    if user is not None:
        return user
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        raise Unauthorized(
            "The identity token carries no email address; it is needed for a first sign-in.",
            code="oidc_email_missing",
        )
    verified = claims.get("email_verified") is True
    existing = await session.scalar(
        select(User).where(User.email == email, User.deleted_at.is_(None)).with_for_update()
    )
    if existing is not None:
        # Linking to an account by email is only safe when the provider vouches for the address.
        if not verified or existing.auth_provider_id is not None:
            raise Conflict(
                "An account with this email already exists; sign in with it first.",
                code="email_taken",
            )
        existing.auth_provider = provider
        existing.auth_provider_id = subject
        existing.is_verified = True
        # The provider vouched for this person: from here the unit of work acts for them.
        await set_current_user(session, existing.id)
        await audit.record(
            session, existing.id, "user.link_identity", "user", existing.id, {"provider": provider}
        )
        return existing
    name = str(claims.get("name") or email.split("@")[0])[:200]
    new_id = await session.scalar(
        insert(User)
        .values(
            email=email,
            password_hash=None,
            auth_provider=provider,
            auth_provider_id=subject,
            name=name,
            first_name=_short(claims.get("given_name")),
            last_name=_short(claims.get("family_name")),
            is_verified=verified,
        )
        .on_conflict_do_nothing()
        .returning(User.id)
    )
    if new_id is None:
        # A concurrent first sign-in of the same identity won the insert.
        user = await _by_identity(session, provider, subject)
        if user is None:
            raise Conflict("An account with this email already exists.", code="email_taken")
        return user
    user = await session.get(User, new_id)
    # From here the unit of work acts for the new person (their profile is theirs to write).
    await set_current_user(session, new_id)
    assert user is not None
    await ensure_profile(session, user)
    await audit.record(session, user.id, "user.sign_up", "user", user.id, {"provider": provider})
    return user


async def _by_identity(session: AsyncSession, provider: str, subject: str) -> User | None:
    user: User | None = await session.scalar(
        select(User).where(
            User.auth_provider == provider,
            User.auth_provider_id == subject,
            User.deleted_at.is_(None),
        )
    )
    return user


def _short(value: Any) -> str | None:
    return str(value)[:100] if isinstance(value, str) and value else None
