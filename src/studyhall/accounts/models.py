"""People: one ``users`` table for every role, their profiles, sign-in tokens, connected
provider accounts and guardian consents."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, CITEXT, INET, JSONB
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


EXPERIENCE_LEVELS = ("beginner", "intermediate", "advanced")
VERIFICATION_STATUSES = ("pending", "verified", "rejected")
TOKEN_PURPOSES = ("email_verification", "password_reset", "guardian_consent", "consent_withdrawal")


class StudentProfile(UUIDPrimaryKey, Timestamps, SoftDelete, Base):
    """What a student tells us about how they learn (one row per student)."""

    __tablename__ = "student_profiles"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), unique=True
    )
    school: Mapped[str | None] = mapped_column(String(200))
    grade_level: Mapped[str | None] = mapped_column(String(50))
    learning_goals: Mapped[list[str]] = mapped_column(
        ARRAY(Text), server_default=text("'{}'::text[]")
    )
    primary_goal: Mapped[str | None] = mapped_column(String(500))
    interests: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'::text[]"))
    experience_level: Mapped[str | None] = mapped_column(String(20))
    preferred_session_minutes: Mapped[int | None]
    study_preference: Mapped[str | None] = mapped_column(String(100))
    onboarding_completed: Mapped[bool] = mapped_column(server_default=text("false"))
    # Kept by billing's credit ledger only (never by the profile PATCH): the cached balance, the
    # head of the ledger chain, and when the expiry job should next look at this student.
    credit_balance: Mapped[int] = mapped_column(server_default=text("0"))
    credit_ledger_seq: Mapped[int] = mapped_column(server_default=text("0"))
    credit_next_expiry_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint("credit_balance >= 0", name="credit_balance_non_negative"),
        CheckConstraint("credit_ledger_seq >= 0", name="credit_ledger_seq"),
        Index(
            "ix_student_profiles_credit_next_expiry_at",
            "credit_next_expiry_at",
            postgresql_where=text("credit_next_expiry_at IS NOT NULL"),
        ),
        CheckConstraint(
            f"experience_level IS NULL OR experience_level IN {EXPERIENCE_LEVELS}",
            name="experience_level",
        ),
        CheckConstraint(
            "preferred_session_minutes IS NULL OR preferred_session_minutes BETWEEN 5 AND 480",
            name="preferred_session_minutes",
        ),
    )


class TutorProfile(UUIDPrimaryKey, Timestamps, SoftDelete, Base):
    """A tutor's public profile and rating. Totals (sessions, earnings) are kept by billing."""

    __tablename__ = "tutor_profiles"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), unique=True
    )
    bio: Mapped[str | None] = mapped_column(Text)
    subjects: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'::text[]"))
    hourly_rate_cents: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    currency: Mapped[str] = mapped_column(String(3), server_default="USD")
    meeting_link: Mapped[str | None] = mapped_column(String(2048))
    # The mean and count of the tutor's visible reviews, kept by the review service.
    rating: Mapped[Decimal | None] = mapped_column(Numeric(3, 2))
    rating_count: Mapped[int] = mapped_column(server_default=text("0"))
    # What the directory sorts by: the Bayesian average of the visible reviews (profiles.py).
    rating_score: Mapped[Decimal] = mapped_column(Numeric(4, 3), server_default=text("4.000"))
    total_sessions: Mapped[int] = mapped_column(server_default=text("0"))
    total_earnings_cents: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    is_available: Mapped[bool] = mapped_column(server_default=text("true"))
    verification_status: Mapped[str] = mapped_column(String(20), server_default="pending")

    __table_args__ = (
        CheckConstraint(
            f"verification_status IN {VERIFICATION_STATUSES}", name="verification_status"
        ),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency"),
        CheckConstraint("hourly_rate_cents >= 0", name="hourly_rate"),
        CheckConstraint("rating IS NULL OR rating BETWEEN 0 AND 5", name="rating"),
        CheckConstraint(
            "total_sessions >= 0 AND total_earnings_cents >= 0 AND rating_count >= 0",
            name="totals",
        ),
        Index("ix_tutor_profiles_subjects", "subjects", postgresql_using="gin"),
        CheckConstraint("rating_score BETWEEN 1 AND 5", name="rating_score"),
        # The public directory reads verified, available tutors best-rated first.
        Index(
            "ix_tutor_profiles_directory",
            text("rating_score DESC"),
            "user_id",
            postgresql_where=text(
                "verification_status = 'verified' AND is_available AND deleted_at IS NULL"
            ),
        ),
    )


class GuardianConsent(UUIDPrimaryKey, Base):
    """A guardian's consent decisions, append-only: the latest row per user is the current state."""

    __tablename__ = "guardian_consents"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    guardian_email: Mapped[str] = mapped_column(CITEXT)
    consent_type: Mapped[str] = mapped_column(String(50))
    consent_given: Mapped[bool]
    legal_text_hash: Mapped[str] = mapped_column(String(64))
    ip_address: Mapped[str | None] = mapped_column(INET)
    created_at: Mapped[datetime] = mapped_column(server_default=text("clock_timestamp()"))

    __table_args__ = (Index("ix_guardian_consents_user_id_created_at", "user_id", "created_at"),)


class OAuthAccount(UUIDPrimaryKey, Timestamps, SoftDelete, Base):
    """A connected provider account; tokens AES-GCM encrypted (row id as associated data)."""

    __tablename__ = "oauth_accounts"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    provider: Mapped[str] = mapped_column(String(30))
    provider_account_id: Mapped[str] = mapped_column(String(255))
    access_token_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    refresh_token_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    encryption_key_id: Mapped[str] = mapped_column(String(64))
    token_expires_at: Mapped[datetime | None]
    scopes: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'::text[]"))
    calendar_id: Mapped[str | None] = mapped_column(String(255))

    __table_args__ = (UniqueConstraint("provider", "provider_account_id"),)


class AuthToken(UUIDPrimaryKey, Base):
    """Single-use emailed tokens (verification, reset, consent), stored as SHA-256 hashes."""

    __tablename__ = "auth_tokens"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(30))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    __table_args__ = (CheckConstraint(f"purpose IN {TOKEN_PURPOSES}", name="purpose"),)


class AuthRateLimit(UUIDPrimaryKey, Base):
    """Fixed-window attempt counters shared by every API process."""

    __tablename__ = "auth_rate_limits"

    bucket: Mapped[str] = mapped_column(String(200))
    window_start: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(server_default=text("0"))
    locked_until: Mapped[datetime | None]

    __table_args__ = (UniqueConstraint("bucket", "window_start"),)
