"""Request and response bodies of the study API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from studyhall.kit.paging import Page

Origin = Literal["notes", "slides", "assignment"]
ArtifactType = Literal["summary", "flashcards", "quiz"]


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class MaterialRead(_Read):
    id: uuid.UUID
    file_name: str
    mime_type: str
    size_bytes: int
    origin: Origin
    processing_status: Literal["pending", "processing", "completed", "failed"]
    processing_error_code: str | None
    processing_error: str | None
    page_count: int | None
    chunk_count: int
    # Which searches can find this material now: vectors arrive after ``completed``.
    search_modes: list[Literal["keyword", "semantic"]]
    created_at: datetime


class SearchRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"query": "How do plants make food?", "k": 3}]}
    )

    query: str = Field(min_length=1, max_length=2000)
    k: int = Field(default=6, ge=1, le=50)
    material_ids: list[uuid.UUID] | None = Field(default=None, max_length=100)


class SearchHit(BaseModel):
    chunk_id: uuid.UUID
    material_id: uuid.UUID
    file_name: str
    page: int | None
    slide: int | None
    heading: str | None
    text: str
    score: float


class ArtifactCreate(BaseModel):
    type: ArtifactType
    material_id: uuid.UUID | None = Field(
        default=None, description="A material you uploaded or may read through a course."
    )
    topic_id: uuid.UUID | None = Field(
        default=None,
        description="Instead of material_id: the accessible materials of course lessons tagged "
        "with this topic.",
    )
    max_items: int = Field(default=10, ge=1, le=50)

    @model_validator(mode="after")
    def _one_source(self) -> ArtifactCreate:
        if (self.material_id is None) == (self.topic_id is None):
            raise ValueError("give exactly one of material_id and topic_id")
        return self


class ArtifactRead(BaseModel):
    id: uuid.UUID
    type: ArtifactType
    material_id: uuid.UUID | None
    topic_id: uuid.UUID | None
    status: Literal["pending", "processing", "completed", "failed"]
    engine: Literal["offline", "llm"] | None
    model_name: str | None
    error: str | None
    error_code: str | None = Field(
        default=None,
        description=(
            "Why a failed artifact could not be made, stable for clients to branch on: "
            "`quiz_no_fair_questions` (the material's flashcards can be studied instead), "
            "`material_too_short`, `sources_unavailable` or `internal_error`."
        ),
    )
    payload: dict[str, Any] | None = Field(
        description="Summary or flashcards; null for quizzes, whose answers stay on the server."
    )
    quiz_id: uuid.UUID | None = None
    created_at: datetime


class QuestionRead(BaseModel):
    id: uuid.UUID
    position: int
    question_text: str
    options: list[str]


class QuizRead(BaseModel):
    id: uuid.UUID
    title: str | None
    material_id: uuid.UUID | None
    topic_id: uuid.UUID | None
    questions: list[QuestionRead]


class AttemptSubmit(BaseModel):
    answers: dict[uuid.UUID, str] = Field(
        description="Question id → the chosen option text; unanswered questions score zero."
    )


class QuestionResult(QuestionRead):
    chosen: str | None
    correct_answer: str
    is_correct: bool
    explanation: str | None
    citations: list[dict[str, Any]]


class AttemptRead(BaseModel):
    id: uuid.UUID
    quiz_id: uuid.UUID
    question_count: int
    started_at: datetime
    completed_at: datetime | None
    correct_count: int | None
    score_percentage: float | None = Field(
        description="Share of the questions answered correctly, 0 to 100, two decimals; null "
        "until submitted."
    )
    questions: list[QuestionRead] | None = None
    results: list[QuestionResult] | None = None


class FlashcardRead(_Read):
    id: uuid.UUID
    artifact_id: uuid.UUID | None
    front: str
    back: str
    citations: list[dict[str, Any]]
    due_at: datetime
    last_reviewed_at: datetime | None


class CardReviewCreate(BaseModel):
    rating: int = Field(ge=1, le=4, description="1 again, 2 hard, 3 good, 4 easy")
    duration_ms: int | None = Field(default=None, ge=0, le=3_600_000)


class CardReviewRead(BaseModel):
    card: FlashcardRead
    review_id: uuid.UUID
    rating: int
    duration_ms: int | None
    reviewed_at: datetime


class ThreadCreate(BaseModel):
    title: str | None = Field(default=None, max_length=200)
    topic_id: uuid.UUID | None = None
    # A thread about one of my materials: its questions answer from it unless they name others.
    material_id: uuid.UUID | None = None


class ThreadRead(_Read):
    id: uuid.UUID
    title: str | None
    topic_id: uuid.UUID | None
    material_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class MessageCreate(BaseModel):
    content: str = Field(min_length=1, max_length=4000)
    material_ids: list[uuid.UUID] | None = Field(default=None, max_length=100)


class MessageRead(_Read):
    id: uuid.UUID
    thread_id: uuid.UUID
    role: Literal["user", "assistant", "system"]
    content: str
    citations: list[dict[str, Any]]
    related: list[dict[str, Any]]
    engine: str | None
    model_name: str | None
    created_at: datetime


class QuotaRead(BaseModel):
    period: Literal["day", "month"]
    period_start: str
    limit_tokens: int
    used_tokens: int
    reserved_tokens: int


class UsageRead(_Read):
    id: uuid.UUID
    feature: str
    model_name: str | None
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    estimated_cost_micros: int
    cost_currency: str
    status: str
    created_at: datetime


class UsageSummary(BaseModel):
    quotas: list[QuotaRead]
    recent: list[UsageRead]


class MaterialPage(Page[MaterialRead]):
    pass


class ArtifactPage(Page[ArtifactRead]):
    pass


class FlashcardPage(Page[FlashcardRead]):
    pass


class ThreadPage(Page[ThreadRead]):
    pass


class MessagePage(Page[MessageRead]):
    pass
