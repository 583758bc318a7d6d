"""The taxonomy and the course store: subjects, topics, courses, sections, lessons, products,
purchases, course access (one row per grant) and lesson completions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    SmallInteger,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import CHAR, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from studyhall.db.base import Base, Timestamps, UUIDPrimaryKey

VISIBILITY = ("public", "private")
LESSON_STATUSES = ("public", "private", "preview")
CONTENT_TYPES = ("markdown", "video", "pdf")
PURCHASE_STATUSES = ("pending", "paid", "refunded")
ACCESS_SOURCES = ("purchase", "grant")
CURRENCY_CHECK = "currency ~ '^[A-Z]{3}$'"


class Subject(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "subjects"

    name: Mapped[str] = mapped_column(Text, unique=True)
    description: Mapped[str | None] = mapped_column(Text)


class Topic(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "topics"

    subject_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("subjects.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    difficulty_level: Mapped[int | None] = mapped_column(SmallInteger)

    __table_args__ = (
        UniqueConstraint("subject_id", "name"),
        CheckConstraint("difficulty_level BETWEEN 1 AND 5", name="difficulty_level"),
    )


class Course(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "courses"

    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    # NULL = a platform course, authored by admins.
    author_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT"), index=True
    )
    # Set by an admin to show the course among the catalogue's featured ones; NULL: not featured.
    featured_at: Mapped[datetime | None]

    __table_args__ = (
        # Catalogue browsing pages by (created_at DESC, id DESC).
        Index("ix_courses_created_at_id", text("created_at DESC"), text("id DESC")),
    )


def _position_unique(parent: str, table: str) -> UniqueConstraint:
    # Deferred so that a reorder can permute positions in one transaction.
    return UniqueConstraint(
        parent,
        "position",
        name=f"uq_{table}_{parent}_position",
        deferrable=True,
        initially="DEFERRED",
    )


class CourseSection(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "course_sections"

    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default="private")
    position: Mapped[int]

    __table_args__ = (
        _position_unique("course_id", "course_sections"),
        CheckConstraint(f"status IN {VISIBILITY}", name="status"),
    )


class Lesson(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "lessons"

    section_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("course_sections.id", ondelete="CASCADE")
    )
    topic_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("topics.id", ondelete="SET NULL"), index=True
    )
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    content_type: Mapped[str] = mapped_column(Text, server_default="markdown")
    content: Mapped[str | None] = mapped_column(Text)
    video_url: Mapped[str | None] = mapped_column(Text)
    # A study material (the uploaded PDF); RESTRICT: a material in use cannot vanish (study
    # refuses to delete it with 409 `material_used_by_lessons`).
    material_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("materials.id", ondelete="RESTRICT"), index=True
    )
    estimated_duration_minutes: Mapped[int | None]
    status: Mapped[str] = mapped_column(Text, server_default="private")
    position: Mapped[int]

    __table_args__ = (
        _position_unique("section_id", "lessons"),
        CheckConstraint(f"status IN {LESSON_STATUSES}", name="status"),
        CheckConstraint(f"content_type IN {CONTENT_TYPES}", name="content_type"),
        CheckConstraint(
            "estimated_duration_minutes IS NULL OR estimated_duration_minutes > 0",
            name="estimated_duration_minutes",
        ),
        CheckConstraint("content_type <> 'video' OR video_url IS NOT NULL", name="video_has_url"),
    )


class Product(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "products"

    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    image_url: Mapped[str] = mapped_column(Text)
    price_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(CHAR(3))
    status: Mapped[str] = mapped_column(Text, server_default="private")

    __table_args__ = (
        CheckConstraint("price_cents >= 0", name="price_cents"),
        CheckConstraint(CURRENCY_CHECK, name="currency"),
        CheckConstraint(f"status IN {VISIBILITY}", name="status"),
        Index("ix_products_status_created_at", "status", text("created_at DESC")),
    )


class CourseProduct(Timestamps, Base):
    __tablename__ = "course_products"

    course_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("courses.id", ondelete="RESTRICT"), primary_key=True
    )
    product_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Purchase(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "purchases"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    product_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("products.id", ondelete="RESTRICT"), index=True
    )
    # The payment that paid (billing's migration 0005 adds the constraint: payments come later).
    payment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("payments.id", ondelete="RESTRICT"), unique=True
    )
    status: Mapped[str] = mapped_column(Text, server_default="pending")
    price_paid_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(CHAR(3))
    product_details: Mapped[dict[str, Any]] = mapped_column(JSONB)
    provider: Mapped[str] = mapped_column(Text, server_default="manual")
    provider_session_id: Mapped[str | None] = mapped_column(Text)
    paid_at: Mapped[datetime | None]
    refunded_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("provider", "provider_session_id"),
        CheckConstraint(f"status IN {PURCHASE_STATUSES}", name="status"),
        CheckConstraint("price_paid_cents >= 0", name="price_paid_cents"),
        CheckConstraint(CURRENCY_CHECK, name="currency"),
        CheckConstraint("(status = 'pending') = (paid_at IS NULL)", name="paid_at"),
        CheckConstraint("(status = 'refunded') = (refunded_at IS NOT NULL)", name="refunded_at"),
        # Purchase history: WHERE user_id = ? ... ORDER BY created_at DESC.
        Index("ix_purchases_user_id_created_at", "user_id", text("created_at DESC")),
        # One live purchase per buyer and product: concurrent checkouts collide here.
        Index(
            "uq_purchases_user_id_product_id_live",
            "user_id",
            "product_id",
            unique=True,
            postgresql_where=text("status IN ('pending', 'paid')"),
        ),
    )


class CourseAccess(UUIDPrimaryKey, Timestamps, Base):
    """One row per grant, so that a refund revokes only what its own purchase granted."""

    __tablename__ = "course_access"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    course_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("courses.id", ondelete="CASCADE"), index=True
    )
    source: Mapped[str] = mapped_column(Text)
    purchase_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("purchases.id", ondelete="RESTRICT")
    )
    granted_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    revoked_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("purchase_id", "course_id"),
        CheckConstraint(f"source IN {ACCESS_SOURCES}", name="source"),
        CheckConstraint("(source = 'purchase') = (purchase_id IS NOT NULL)", name="source_ref"),
        # The access check: WHERE user_id = ? AND course_id = ? AND revoked_at IS NULL.
        Index(
            "ix_course_access_user_id_course_id_live",
            "user_id",
            "course_id",
            postgresql_where=text("revoked_at IS NULL"),
        ),
        Index(
            "uq_course_access_user_id_course_id_grant",
            "user_id",
            "course_id",
            unique=True,
            postgresql_where=text("source = 'grant' AND revoked_at IS NULL"),
        ),
    )


class LessonCompletion(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "lesson_completions"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    lesson_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("lessons.id", ondelete="CASCADE"), index=True
    )
    completed_at: Mapped[datetime] = mapped_column(server_default=text("now()"))

    __table_args__ = (UniqueConstraint("user_id", "lesson_id"),)
