"""Seed 000/001/002/003/004 ``users`` as one table, and refresh tokens."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import CITEXT
from sqlalchemy.orm import Mapped, mapped_column

from studyhall.db.base import Base, SoftDelete, Timestamps, UUIDPrimaryKey

ROLES = ("student", "tutor", "admin")
STATUSES = ("active", "suspended", "deleted")
AUTH_PROVIDERS = ("password", "google", "clerk", "supabase", "oidc")


class User(UUIDPrimaryKey, Timestamps, SoftDelete, Base):
    __tablename__ = "users"

    email: Mapped[str] = mapped_column(CITEXT, unique=True)
    password_hash: Mapped[str | None] = mapped_column(Text)
    auth_provider: Mapped[str] = mapped_column(String(20), server_default="password")
    auth_provider_id: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), server_default="student", index=True)
    name: Mapped[str] = mapped_column(String(200))
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    avatar_url: Mapped[str | None] = mapped_column(String(2048))
    phone: Mapped[str | None] = mapped_column(String(20))
    timezone: Mapped[str] = mapped_column(String(64), server_default="UTC")
    country: Mapped[str | None] = mapped_column(String(2))
    date_of_birth: Mapped[date | None]
    status: Mapped[str] = mapped_column(String(20), server_default="active")
    is_verified: Mapped[bool] = mapped_column(server_default=text("false"))
    last_login_at: Mapped[datetime | None]
    # Access tokens issued before this instant are refused: sign-out everywhere, password
    # change, suspension and deletion end every session at once.
    tokens_valid_after: Mapped[datetime] = mapped_column(server_default=text("now()"))

    __table_args__ = (
        CheckConstraint(f"role IN {ROLES}", name="role"),
        CheckConstraint(f"status IN {STATUSES}", name="status"),
        CheckConstraint(f"auth_provider IN {AUTH_PROVIDERS}", name="auth_provider"),
        CheckConstraint(
            "password_hash IS NOT NULL OR auth_provider <> 'password'", name="password_identity"
        ),
        UniqueConstraint("auth_provider", "auth_provider_id"),
    )


class RefreshToken(UUIDPrimaryKey, Base):
    """Opaque refresh tokens, stored as SHA-256 hashes, rotated on every use.

    Tokens descending from one sign-in share a ``family_id``: presenting a token that was already
    rotated means it leaked, and the whole family is revoked.
    """

    __tablename__ = "refresh_tokens"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    family_id: Mapped[uuid.UUID]
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    user_agent: Mapped[str | None] = mapped_column(String(512))
    ip_address: Mapped[str | None] = mapped_column(String(45))

    __table_args__ = (
        Index("ix_refresh_tokens_user_id", "user_id"),
        Index("ix_refresh_tokens_family_id", "family_id"),
    )
