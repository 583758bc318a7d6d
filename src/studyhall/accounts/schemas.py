"""Request and response bodies of the accounts API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, HttpUrl

from studyhall.accounts.security import MAX_PASSWORD


def _valid_zone(name: str) -> str:
    if name not in _zones():
        raise ValueError(f"'{name}' is not an IANA time zone (for example 'Europe/Copenhagen')")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"'{name}' is not an IANA time zone") from exc
    return name


_ZONES: frozenset[str] | None = None


def _zones() -> frozenset[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = frozenset(available_timezones() | {"UTC"})
    return _ZONES


TimeZoneName = Annotated[str, Field(max_length=64), AfterValidator(_valid_zone)]
Password = Annotated[str, Field(min_length=1, max_length=MAX_PASSWORD * 4)]
Name = Annotated[str, Field(min_length=1, max_length=200)]


class Strict(BaseModel):
    """Unknown fields are refused, so a client cannot sneak in ``role`` or ``status``."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SignUp(Strict):
    email: EmailStr = Field(max_length=254)
    password: Password
    name: Name
    role: Literal["student", "tutor"] = "student"
    timezone: TimeZoneName = "UTC"
    date_of_birth: date | None = None
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None


class SignIn(Strict):
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


class UserUpdate(Strict):
    """What a user may change about themselves: ``extra="forbid"`` turns anything else into 422."""

    name: Name | None = None
    first_name: Annotated[str, Field(max_length=100)] | None = None
    last_name: Annotated[str, Field(max_length=100)] | None = None
    avatar_url: HttpUrl | None = None
    phone: Annotated[str, Field(pattern=r"^\+?[0-9 ()\-]{5,20}$")] | None = None
    timezone: TimeZoneName | None = None
