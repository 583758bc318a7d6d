"""Request and response bodies of the accounts API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, HttpUrl

from studyhall.kit.paging import Page
from studyhall.kit.patch import PatchBody
from studyhall.kit.timezones import TimeZoneName

# Length bounds of a password, in characters (sign-up, change and reset all check them).
MIN_PASSWORD, MAX_PASSWORD = 8, 128

Password = Annotated[str, Field(min_length=1, max_length=MAX_PASSWORD * 4)]
Name = Annotated[str, Field(min_length=1, max_length=200)]


class Strict(BaseModel):
    """Unknown fields are refused, so a client cannot sneak in ``role`` or ``status``."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SignUp(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "email": "ada@example.org",
                    "password": "correct horse battery",
                    "name": "Ada Lovelace",
                    "role": "student",
                    "timezone": "Europe/London",
                }
            ]
        }
    )

    email: EmailStr = Field(max_length=254)
    password: Password
    name: Name
    role: Literal["student", "tutor"] = "student"
    timezone: TimeZoneName = "UTC"
    date_of_birth: date | None = None
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None


class SignIn(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"email": "ada@example.org", "password": "correct horse battery"}]
        }
    )

    email: EmailStr = Field(max_length=254)
    password: Password


class RefreshRequest(Strict):
    refresh_token: str = Field(min_length=10, max_length=200)


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    name: str
    first_name: str | None
    last_name: str | None
    avatar_url: str | None
    phone: str | None
    role: str
    status: str
    timezone: str
    country: str | None
    date_of_birth: date | None
    is_verified: bool
    auth_provider: str
    last_login_at: datetime | None
    created_at: datetime


class UserUpdate(Strict, PatchBody):
    """What a user may change about themselves: ``extra="forbid"`` turns anything else into 422."""

    clearable = frozenset({"first_name", "last_name", "avatar_url", "phone"})

    name: Name | None = None
    first_name: Annotated[str, Field(max_length=100)] | None = None
    last_name: Annotated[str, Field(max_length=100)] | None = None
    avatar_url: HttpUrl | None = None
    phone: Annotated[str, Field(pattern=r"^\+?[0-9 ()\-]{5,20}$")] | None = None
    timezone: TimeZoneName | None = None


# --- passwords and emailed tokens -------------------------------------------------------------

EmailedToken = Annotated[str, Field(min_length=10, max_length=200)]


class ChangePassword(Strict):
    current_password: Password
    new_password: Password


class EmailOnly(Strict):
    email: EmailStr = Field(max_length=254)


class ResetPassword(Strict):
    token: EmailedToken
    new_password: Password


class TokenOnly(Strict):
    token: EmailedToken


class Accepted(BaseModel):
    detail: str


class OidcSignIn(Strict):
    id_token: str = Field(min_length=10, max_length=16384)


# --- profiles ---------------------------------------------------------------------------------

ShortText = Annotated[str, Field(min_length=1, max_length=100)]
Tag = Annotated[str, Field(min_length=1, max_length=60)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]


class StudentProfileRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    user_id: uuid.UUID
    school: str | None
    grade_level: str | None
    learning_goals: list[str]
    primary_goal: str | None
    interests: list[str]
    experience_level: str | None
    preferred_session_minutes: int | None
    study_preference: str | None
    onboarding_completed: bool
    updated_at: datetime


class StudentProfileUpdate(Strict, PatchBody):
    clearable = frozenset(
        {"school", "grade_level", "primary_goal", "experience_level"}
        | {"preferred_session_minutes", "study_preference"}
    )

    school: Annotated[str, Field(max_length=200)] | None = None
    grade_level: Annotated[str, Field(max_length=50)] | None = None
    learning_goals: Annotated[list[Tag], Field(max_length=20)] | None = None
    primary_goal: Annotated[str, Field(max_length=500)] | None = None
    interests: Annotated[list[Tag], Field(max_length=30)] | None = None
    experience_level: Literal["beginner", "intermediate", "advanced"] | None = None
    preferred_session_minutes: Annotated[int, Field(ge=5, le=480)] | None = None
    study_preference: ShortText | None = None
    onboarding_completed: bool | None = None


class TutorProfileRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    user_id: uuid.UUID
    bio: str | None
    subjects: list[str]
    hourly_rate_cents: int
    currency: str
    meeting_link: str | None
    rating: float | None
    rating_count: int
    total_sessions: int
    total_earnings_cents: int
    is_available: bool
    verification_status: str
    updated_at: datetime


class TutorProfileUpdate(Strict, PatchBody):
    """``verification_status``, rating and totals are not here: only admins and billing set them."""

    clearable = frozenset({"bio", "meeting_link"})

    bio: Annotated[str, Field(max_length=5000)] | None = None
    subjects: Annotated[list[Tag], Field(max_length=30)] | None = None
    hourly_rate_cents: Annotated[int, Field(ge=0, le=100_000_000)] | None = None
    currency: Currency | None = None
    meeting_link: HttpUrl | None = None
    is_available: bool | None = None


class TutorCard(BaseModel):
    """A tutor as the public directory shows them."""

    user_id: uuid.UUID
    name: str
    avatar_url: str | None
    timezone: str
    bio: str | None
    subjects: list[str]
    hourly_rate_cents: int
    currency: str
    rating: float | None
    rating_count: int
    total_sessions: int


class TutorPage(Page[TutorCard]):
    """Directory tutors, best rated first."""


# --- guardian consent -------------------------------------------------------------------------


class ConsentRequest(Strict):
    guardian_email: EmailStr = Field(max_length=254)


class ConsentStatus(BaseModel):
    required: bool
    consent_age: int
    state: Literal["not_required", "missing", "pending", "given", "withdrawn"]
    guardian_email: str | None


class ConsentView(BaseModel):
    child_name: str
    guardian_email: str
    consent_type: str
    legal_text: str
    legal_text_hash: str


class ConsentDecision(Strict):
    token: EmailedToken
    consent_given: bool
    legal_text_hash: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


# --- oauth accounts ---------------------------------------------------------------------------


class OAuthAccountRead(BaseModel):
    """Never the tokens themselves."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    provider: str
    provider_account_id: str
    token_expires_at: datetime | None
    scopes: list[str]
    calendar_id: str | None
    created_at: datetime


class OAuthAccountPage(Page[OAuthAccountRead]):
    """The caller's connected provider accounts, oldest first."""


# --- admin ------------------------------------------------------------------------------------


class AdminUserRead(UserRead):
    deleted_at: datetime | None
    updated_at: datetime


class AdminCreate(Strict):
    email: EmailStr = Field(max_length=254)
    password: Password
    name: Name
    timezone: TimeZoneName = "UTC"


class UserPage(Page[AdminUserRead]):
    """Users, newest first."""


class Suspension(Strict):
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class VerificationDecision(Strict):
    reason: Annotated[str, Field(max_length=500)] | None = None
