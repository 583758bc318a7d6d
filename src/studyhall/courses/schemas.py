"""Request and response bodies of the courses API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, model_validator

from studyhall.billing.schemas import PaymentStarted
from studyhall.kit.paging import Page
from studyhall.kit.patch import PatchBody

Title = Annotated[str, Field(min_length=1, max_length=200)]
LongText = Annotated[str, Field(max_length=20_000)]
Visibility = Literal["public", "private"]
LessonStatus = Literal["public", "private", "preview"]
ContentType = Literal["markdown", "video", "pdf"]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]


class Strict(BaseModel):
    """Unknown fields are refused, so a typo is an error instead of a silent no-op."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- taxonomy -------------------------------------------------------------------------------


class SubjectCreate(Strict):
    name: Title
    description: LongText | None = None


class SubjectUpdate(Strict, PatchBody):
    clearable = frozenset({"description"})

    name: Title | None = None
    description: LongText | None = None


class SubjectRead(Read):
    id: uuid.UUID
    name: str
    description: str | None
    created_at: datetime


class TopicCreate(Strict):
    name: Title
    description: LongText | None = None
    difficulty_level: Annotated[int, Field(ge=1, le=5)] | None = None


class TopicUpdate(Strict, PatchBody):
    clearable = frozenset({"description", "difficulty_level"})

    name: Title | None = None
    description: LongText | None = None
    difficulty_level: Annotated[int, Field(ge=1, le=5)] | None = None


class TopicRead(Read):
    id: uuid.UUID
    subject_id: uuid.UUID
    name: str
    description: str | None
    difficulty_level: int | None


# --- catalogue ------------------------------------------------------------------------------


class CourseCreate(Strict):
    title: Title
    description: LongText


class CourseUpdate(Strict, PatchBody):
    title: Title | None = None
    description: LongText | None = None


class CourseRead(Read):
    id: uuid.UUID
    title: str
    description: str
    author_id: uuid.UUID | None
    featured_at: datetime | None = Field(
        default=None, description="When an admin featured the course; null: not featured."
    )
    created_at: datetime


class CoursePage(Page[CourseRead]):
    """One page of the course catalogue, newest first."""


class SectionCreate(Strict):
    name: Title
    status: Visibility = "private"


class SectionUpdate(Strict, PatchBody):
    name: Title | None = None
    status: Visibility | None = None


class SectionRead(Read):
    id: uuid.UUID
    course_id: uuid.UUID
    name: str
    status: str
    position: int


def _content_fits(content_type: str | None, video_url: Any, material_id: Any) -> None:
    if content_type == "video" and video_url is None:
        raise ValueError("a video lesson needs video_url")
    if content_type == "pdf" and material_id is None:
        raise ValueError("a pdf lesson needs material_id (an uploaded PDF)")


class LessonCreate(Strict):
    title: Title
    description: LongText | None = None
    status: LessonStatus = "private"
    content_type: ContentType = "markdown"
    content: Annotated[str, Field(max_length=200_000)] | None = None
    video_url: HttpUrl | None = None
    material_id: uuid.UUID | None = None
    topic_id: uuid.UUID | None = None
    estimated_duration_minutes: Annotated[int, Field(ge=1, le=10_000)] | None = None

    @model_validator(mode="after")
    def _content_matches_type(self) -> LessonCreate:
        _content_fits(self.content_type, self.video_url, self.material_id)
        return self


class LessonUpdate(Strict, PatchBody):
    clearable = frozenset(
        {"description", "content", "video_url", "material_id", "topic_id"}
        | {"estimated_duration_minutes"}
    )

    title: Title | None = None
    description: LongText | None = None
    status: LessonStatus | None = None
    content_type: ContentType | None = None
    content: Annotated[str, Field(max_length=200_000)] | None = None
    video_url: HttpUrl | None = None
    material_id: uuid.UUID | None = None
    topic_id: uuid.UUID | None = None
    estimated_duration_minutes: Annotated[int, Field(ge=1, le=10_000)] | None = None


class LessonSummary(Read):
    id: uuid.UUID
    section_id: uuid.UUID
    title: str
    status: str
    position: int
    content_type: str
    estimated_duration_minutes: int | None
    topic_id: uuid.UUID | None


class LessonRead(LessonSummary):
    description: str | None
    content: str | None
    video_url: str | None
    material_id: uuid.UUID | None


class OutlineSection(SectionRead):
    lessons: list[LessonSummary]


class CourseOutline(CourseRead):
    sections: list[OutlineSection]
    can_edit: bool
    has_access: bool


class Reorder(Strict):
    ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=10_000)]


# --- store ----------------------------------------------------------------------------------


class ProductCreate(Strict):
    name: Title
    description: LongText
    image_url: HttpUrl
    price_cents: Annotated[int, Field(ge=0, le=100_000_000)]
    currency: Currency = "USD"
    status: Visibility = "private"
    course_ids: Annotated[list[uuid.UUID], Field(max_length=1000)] = []


class ProductUpdate(Strict, PatchBody):
    name: Title | None = None
    description: LongText | None = None
    image_url: HttpUrl | None = None
    price_cents: Annotated[int, Field(ge=0, le=100_000_000)] | None = None
    currency: Currency | None = None
    status: Visibility | None = None


class ProductRead(Read):
    id: uuid.UUID
    name: str
    description: str
    image_url: str
    price_cents: int
    currency: str
    status: str
    course_ids: list[uuid.UUID]


class PurchaseRead(Read):
    id: uuid.UUID
    user_id: uuid.UUID
    product_id: uuid.UUID
    status: str
    price_paid_cents: int
    currency: str
    product_details: dict[str, Any]
    provider: str
    provider_session_id: str | None
    payment_id: uuid.UUID | None
    paid_at: datetime | None
    refunded_at: datetime | None
    created_at: datetime


class CheckoutRead(BaseModel):
    purchase: PurchaseRead
    payment_required: bool


class PaidCheckoutRead(CheckoutRead):
    """The purchase and, when it awaits money, the payment started for it with what the client
    needs to pay (client secret, checkout URL or Paymob key; nothing more for ``manual``)."""

    payment: PaymentStarted | None = None


class GrantCreate(Strict):
    user_id: uuid.UUID


class AccessRead(Read):
    id: uuid.UUID
    user_id: uuid.UUID
    course_id: uuid.UUID
    source: str
    purchase_id: uuid.UUID | None
    granted_by_user_id: uuid.UUID | None
    revoked_at: datetime | None
    created_at: datetime


# --- learning -------------------------------------------------------------------------------


class CompletionRead(BaseModel):
    lesson_id: uuid.UUID
    completed_at: datetime


class ProgressLesson(BaseModel):
    lesson_id: uuid.UUID
    section_id: uuid.UUID
    title: str
    completed_at: datetime | None


class CourseProgress(BaseModel):
    course_id: uuid.UUID
    total_lessons: int
    completed_lessons: int
    percent: float
    lessons: list[ProgressLesson]


class ProgressSummary(BaseModel):
    course_id: uuid.UUID
    title: str
    total_lessons: int
    completed_lessons: int
    percent: float


class ContinueRead(BaseModel):
    course_id: uuid.UUID
    lesson: LessonSummary | None
    course_completed: bool


class SubjectPage(Page[SubjectRead]):
    """One page of subjects, by name."""


class TopicPage(Page[TopicRead]):
    """One page of a subject's topics, by name."""


class LessonSummaryPage(Page[LessonSummary]):
    """One page of published lessons, by course and in course order."""


class ProductPage(Page[ProductRead]):
    """One page of products, newest first."""


class PurchasePage(Page[PurchaseRead]):
    """One page of purchases, newest first."""


class ProgressSummaryPage(Page[ProgressSummary]):
    """One page of the courses I can access with my progress, by title."""
