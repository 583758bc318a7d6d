"""Study assistant tables: materials and their chunks, AI artifacts, quizzes and flashcards,
chat, and the AI quota and usage log.

``materials.course_id`` and ``chat_threads.topic_id`` carry no foreign key yet; the topic of a
quiz or artifact does (migration ``0010_study_scope``).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pgvector.sqlalchemy import HALFVEC, Vector
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ColumnElement,
    Date,
    FetchedValue,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    SQLColumnExpression,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    cast,
    column,
    func,
    literal_column,
    table,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from studyhall.db.base import Base, SoftDelete, Timestamps, UUIDPrimaryKey

ORIGINS = ("notes", "slides", "assignment")
JOB_STATUSES = ("pending", "processing", "completed", "failed")
ARTIFACT_TYPES = ("summary", "flashcards", "quiz")
ENGINES = ("offline", "llm")
CHAT_ROLES = ("user", "assistant", "system")
FEATURES = ("chat", "quiz", "summary", "flashcards", "embedding", "speech", "other")
USAGE_STATUSES = ("succeeded", "failed", "rejected")
RESERVATION_STATUSES = ("reserved", "settled", "released")
PERIODS = ("day", "month")

# Vectors of smaller models are zero-padded to this width: padding changes neither dot products
# nor norms, so cosine distances stay exact whatever the model (two HNSW indexes, by size, below).
EMBEDDING_DIMENSIONS = 1536
# Vectors of a model with at most this many dimensions (all-MiniLM-L6-v2 has 384) are zeros
# beyond it: they are indexed as half-precision vectors of this size, a sixth of the bytes of
# the padded column per index tuple, and compared in 384 dimensions instead of 1536 (the cosine
# distance is the same: the padding is zeros). Larger vectors keep a full index of their own.
SMALL_EMBEDDING_DIMENSIONS = 384


def small_embedding(embedding: SQLColumnExpression[Any]) -> ColumnElement[Any]:
    """The index expression of small vectors: the leading dimensions, in half precision. The
    bounds are SQL literals, not parameters, so a query's expression is the index's."""
    size = literal_column(str(SMALL_EMBEDDING_DIMENSIONS), Integer)
    leading = func.subvector(embedding, literal_column("1"), size)
    return cast(leading, HALFVEC(SMALL_EMBEDDING_DIMENSIONS))


def _padding_norm(embedding: SQLColumnExpression[Any]) -> ColumnElement[Any]:
    rest = EMBEDDING_DIMENSIONS - SMALL_EMBEDDING_DIMENSIONS
    return func.vector_norm(
        func.subvector(
            embedding,
            literal_column(str(SMALL_EMBEDDING_DIMENSIONS + 1)),
            literal_column(str(rest)),
        )
    )


def is_small_embedding(embedding: SQLColumnExpression[Any]) -> ColumnElement[bool]:
    """Which vectors the small index holds: zeros past ``SMALL_EMBEDDING_DIMENSIONS``. A query
    repeats the index's predicate word for word so the planner may use the index."""
    return _padding_norm(embedding) == literal_column("0")


def is_large_embedding(embedding: SQLColumnExpression[Any]) -> ColumnElement[bool]:
    """The other vectors, those of larger models: the full index holds them."""
    return _padding_norm(embedding) > literal_column("0")


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def _user_fk() -> Mapped[uuid.UUID]:
    return mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)


def _topic_fk() -> Mapped[uuid.UUID | None]:
    # A deleted topic leaves the quiz or artifact made from it in place, untagged.
    return mapped_column(ForeignKey("topics.id", ondelete="SET NULL"), index=True)


class Material(UUIDPrimaryKey, Timestamps, SoftDelete, Base):
    __tablename__ = "materials"

    user_id: Mapped[uuid.UUID] = _user_fk()
    course_id: Mapped[uuid.UUID | None]
    file_name: Mapped[str] = mapped_column(Text)
    storage_key: Mapped[str] = mapped_column(Text)
    mime_type: Mapped[str] = mapped_column(Text)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    origin: Mapped[str] = mapped_column(Text, server_default="notes")
    processing_status: Mapped[str] = mapped_column(Text, server_default="pending")
    processing_error_code: Mapped[str | None] = mapped_column(Text)
    processing_error: Mapped[str | None] = mapped_column(Text)
    # Set once every chunk has a vector from this model: the material's semantic search is ready.
    embedding_model: Mapped[str | None] = mapped_column(Text)
    page_count: Mapped[int | None]
    chunk_count: Mapped[int] = mapped_column(server_default=text("0"))

    __table_args__ = (
        CheckConstraint(f"origin IN {_in(ORIGINS)}", name="origin"),
        CheckConstraint(f"processing_status IN {_in(JOB_STATUSES)}", name="processing_status"),
        CheckConstraint("size_bytes > 0", name="size_positive"),
    )

    @property
    def search_modes(self) -> list[str]:
        """``keyword`` once the chunks are stored, ``semantic`` too once they all have vectors."""
        if self.processing_status != "completed":
            return []
        return ["keyword", "semantic"] if self.embedding_model else ["keyword"]


class MaterialLexeme(Base):
    """How many of a material's chunks hold each lexeme: search reads a question's document
    frequencies from here (a few index probes) instead of counting matching chunks per word."""

    __tablename__ = "material_lexemes"

    lexeme: Mapped[str] = mapped_column(Text, primary_key=True)
    material_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("materials.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = _user_fk()
    chunks: Mapped[int]


class MaterialChunk(UUIDPrimaryKey, Base):
    __tablename__ = "material_chunks"

    material_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("materials.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = _user_fk()
    ordinal: Mapped[int]
    heading: Mapped[str | None] = mapped_column(Text)
    page_number: Mapped[int | None]
    char_start: Mapped[int]
    char_end: Mapped[int]
    token_count: Mapped[int]
    chunk_text: Mapped[str] = mapped_column(Text)
    # ``en``, ``ar`` or ``mixed`` (``engine.language``); NULL: stored before it was detected.
    language: Mapped[str | None] = mapped_column(Text)
    # Kept by a trigger with the text-search configuration of ``language`` (migration 0020).
    search_vector: Mapped[Any] = mapped_column(TSVECTOR, server_default=FetchedValue())
    embedding: Mapped[Any | None] = mapped_column(Vector(EMBEDDING_DIMENSIONS))
    embedding_model: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        UniqueConstraint("material_id", "ordinal"),
        # No pending list: searches never scan unsorted recent insertions (migration 0011).
        Index(
            "ix_material_chunks_search_vector",
            "search_vector",
            postgresql_using="gin",
            postgresql_with={"fastupdate": "off"},
        ),
    )


# Two HNSW indexes (cosine) split the vectors by size, each query naming its own expression and
# predicate (``study.service.retrieval``): a stored vector is in exactly one of them.
Index(
    "ix_material_chunks_embedding_small",
    small_embedding(MaterialChunk.embedding).label("small_embedding"),
    postgresql_using="hnsw",
    postgresql_ops={"small_embedding": "halfvec_cosine_ops"},
    postgresql_where=is_small_embedding(MaterialChunk.embedding),
)
Index(
    "ix_material_chunks_embedding_large",
    MaterialChunk.embedding,
    postgresql_using="hnsw",
    postgresql_ops={"embedding": "vector_cosine_ops"},
    postgresql_where=is_large_embedding(MaterialChunk.embedding),
)


# The view of migration 0011: the chunks the current ``app.user_id`` may read (the policy's own
# rule), over which full-text conditions may use the GIN index. Read-only use, from retrieval.
searchable_chunks = table(
    "material_chunks_searchable",
    column("id", Uuid),
    column("material_id", Uuid),
    column("user_id", Uuid),
    column("token_count", Integer),
    column("search_vector", TSVECTOR),
    column("embedding", Vector(EMBEDDING_DIMENSIONS)),
    column("embedding_model", Text),
)


class AiArtifact(UUIDPrimaryKey, Timestamps, SoftDelete, Base):
    __tablename__ = "ai_artifacts"

    user_id: Mapped[uuid.UUID] = _user_fk()
    material_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("materials.id", ondelete="CASCADE"), index=True
    )
    topic_id: Mapped[uuid.UUID | None] = _topic_fk()
    type: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default="pending")
    max_items: Mapped[int] = mapped_column(server_default=text("10"))
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    engine: Mapped[str | None] = mapped_column(Text)
    model_name: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    # Stable, for clients to branch on (``error`` is the readable message).
    error_code: Mapped[str | None] = mapped_column(Text)
    reservation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("ai_quota_reservations.id", ondelete="SET NULL")
    )

    __table_args__ = (
        CheckConstraint(f"type IN {_in(ARTIFACT_TYPES)}", name="type"),
        CheckConstraint(f"status IN {_in(JOB_STATUSES)}", name="status"),
        CheckConstraint(f"engine IN {_in(ENGINES)}", name="engine"),
        CheckConstraint("max_items BETWEEN 1 AND 50", name="max_items"),
    )


class Flashcard(UUIDPrimaryKey, Timestamps, SoftDelete, Base):
    __tablename__ = "flashcards"

    user_id: Mapped[uuid.UUID] = _user_fk()
    artifact_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("ai_artifacts.id", ondelete="SET NULL"), index=True
    )
    source_chunk_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("material_chunks.id", ondelete="SET NULL")
    )
    front: Mapped[str] = mapped_column(Text)
    back: Mapped[str] = mapped_column(Text)
    citations: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, server_default=text("'[]'::jsonb")
    )
    fsrs_state: Mapped[dict[str, Any]] = mapped_column(JSONB)
    due_at: Mapped[datetime]
    last_reviewed_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_flashcards_user_id_due_at", "user_id", "due_at"),)


class FlashcardReview(UUIDPrimaryKey, Base):
    """Append-only: the review log FSRS optimisers train on."""

    __tablename__ = "flashcard_reviews"

    flashcard_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("flashcards.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[uuid.UUID] = _user_fk()
    rating: Mapped[int] = mapped_column(SmallInteger)
    reviewed_at: Mapped[datetime]
    duration_ms: Mapped[int | None]
    review_log: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        CheckConstraint("rating BETWEEN 1 AND 4", name="rating"),
        CheckConstraint("duration_ms IS NULL OR duration_ms >= 0", name="duration"),
    )


class Quiz(UUIDPrimaryKey, Timestamps, SoftDelete, Base):
    __tablename__ = "quizzes"

    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    topic_id: Mapped[uuid.UUID | None] = _topic_fk()
    material_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("materials.id", ondelete="SET NULL")
    )
    artifact_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("ai_artifacts.id", ondelete="SET NULL")
    )
    title: Mapped[str | None] = mapped_column(Text)
    generated_by_ai: Mapped[bool] = mapped_column(server_default=text("false"))


class QuizQuestion(UUIDPrimaryKey, Base):
    __tablename__ = "quiz_questions"

    quiz_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("quizzes.id", ondelete="CASCADE"))
    position: Mapped[int]
    question_text: Mapped[str] = mapped_column(Text)
    options: Mapped[list[str]] = mapped_column(JSONB)
    correct_answer: Mapped[str] = mapped_column(Text)
    explanation: Mapped[str | None] = mapped_column(Text)
    citations: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, server_default=text("'[]'::jsonb")
    )
    source_chunk_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("material_chunks.id", ondelete="SET NULL")
    )

    __table_args__ = (UniqueConstraint("quiz_id", "position"),)


class QuizAttempt(UUIDPrimaryKey, Base):
    __tablename__ = "quiz_attempts"

    user_id: Mapped[uuid.UUID] = _user_fk()
    quiz_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("quizzes.id", ondelete="CASCADE"), index=True
    )
    answers: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    correct_count: Mapped[int | None]
    question_count: Mapped[int]
    score_percentage: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    started_at: Mapped[datetime] = mapped_column(server_default=func.now())
    completed_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint(
            "score_percentage IS NULL OR score_percentage BETWEEN 0 AND 100", name="score"
        ),
    )


class ChatThread(UUIDPrimaryKey, Timestamps, SoftDelete, Base):
    __tablename__ = "chat_threads"

    user_id: Mapped[uuid.UUID] = _user_fk()
    topic_id: Mapped[uuid.UUID | None]
    title: Mapped[str | None] = mapped_column(Text)
    # The material the thread was started from: its questions answer from it by default. A
    # loose reference, like topic_id: the conversation outlives a deleted material.
    material_id: Mapped[uuid.UUID | None] = mapped_column(index=True)


class ChatMessage(UUIDPrimaryKey, Base):
    __tablename__ = "chat_messages"

    thread_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("chat_threads.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = _user_fk()
    role: Mapped[str] = mapped_column(Text)
    content: Mapped[str] = mapped_column(Text)
    citations: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, server_default=text("'[]'::jsonb")
    )
    # When the materials do not answer: the nearest passages, offered for reading, not as sources.
    related: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    engine: Mapped[str | None] = mapped_column(Text)
    model_name: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        CheckConstraint(f"role IN {_in(CHAT_ROLES)}", name="role"),
        Index("ix_chat_messages_thread_id_created_at", "thread_id", "created_at"),
    )


class AiQuotaReservation(UUIDPrimaryKey, Base):
    __tablename__ = "ai_quota_reservations"

    user_id: Mapped[uuid.UUID] = _user_fk()
    feature: Mapped[str] = mapped_column(Text)
    tokens_reserved: Mapped[int] = mapped_column(BigInteger)
    day_start: Mapped[date] = mapped_column(Date)
    month_start: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(Text, server_default="reserved")
    expires_at: Mapped[datetime]
    settled_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        CheckConstraint(f"status IN {_in(RESERVATION_STATUSES)}", name="status"),
        CheckConstraint("tokens_reserved > 0", name="tokens_positive"),
        Index(
            "ix_ai_quota_reservations_open",
            "expires_at",
            postgresql_where=text("status = 'reserved'"),
        ),
    )


class AiQuotaCounter(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "ai_quota_counters"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(Text)
    period_start: Mapped[date] = mapped_column(Date)
    limit_tokens: Mapped[int] = mapped_column(BigInteger)
    reserved_tokens: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    used_tokens: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))

    __table_args__ = (
        UniqueConstraint("user_id", "period", "period_start"),
        CheckConstraint(f"period IN {_in(PERIODS)}", name="period"),
        CheckConstraint("reserved_tokens >= 0 AND used_tokens >= 0", name="non_negative"),
        CheckConstraint("reserved_tokens + used_tokens <= limit_tokens", name="within_limit"),
    )


class AiUsage(UUIDPrimaryKey, Base):
    """Append-only: one row per model call (or refused call), whichever engine answered."""

    __tablename__ = "ai_usage"

    user_id: Mapped[uuid.UUID] = _user_fk()
    feature: Mapped[str] = mapped_column(Text)
    model_name: Mapped[str | None] = mapped_column(Text)
    prompt_tokens: Mapped[int] = mapped_column(server_default=text("0"))
    completion_tokens: Mapped[int] = mapped_column(server_default=text("0"))
    total_tokens: Mapped[int] = mapped_column(server_default=text("0"))
    speech_seconds: Mapped[int] = mapped_column(server_default=text("0"))
    estimated_cost_micros: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    cost_currency: Mapped[str] = mapped_column(String(3), server_default="USD")
    status: Mapped[str] = mapped_column(Text)
    thread_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("chat_threads.id", ondelete="SET NULL")
    )
    artifact_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("ai_artifacts.id", ondelete="SET NULL")
    )
    reservation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("ai_quota_reservations.id", ondelete="SET NULL")
    )
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSONB)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        CheckConstraint(f"feature IN {_in(FEATURES)}", name="feature"),
        CheckConstraint(f"status IN {_in(USAGE_STATUSES)}", name="status"),
        CheckConstraint("cost_currency ~ '^[A-Z]{3}$'", name="currency"),
        Index("ix_ai_usage_user_id_created_at", "user_id", "created_at"),
    )


class StudyEvent(UUIDPrimaryKey, Base):
    """Outbox of learning events (a completed quiz) for the progress capability to turn into XP.

    Progress owns ``xp_events``; it reads these rows, so study never writes another domain's table.
    """

    __tablename__ = "study_events"

    user_id: Mapped[uuid.UUID] = _user_fk()
    kind: Mapped[str] = mapped_column(Text)
    reference_id: Mapped[uuid.UUID]
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        UniqueConstraint("kind", "reference_id"),
        CheckConstraint("kind IN ('quiz_completed')", name="kind"),
    )
