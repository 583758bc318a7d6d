"""Scheduling knobs, read from the environment (prefix ``STUDYHALL_``) like the main settings.

Kept in the domain so the marketplace can be tuned without touching the shared Settings class.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class SchedulingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STUDYHALL_", env_file=".env", extra="ignore")

    # How long an unpaid booking keeps its seat before the hold is released.
    booking_hold_minutes: int = Field(default=10, ge=1, le=24 * 60)
    # How long a tutor has to approve a booking of an offering that needs approval (never past
    # the start).
    booking_approval_hours: int = Field(default=48, ge=1, le=24 * 14)
    # What one credit pays for when a booking is paid with credits (minor units of the
    # offering's currency; the price is rounded up to whole credits).
    booking_credit_cents: int = Field(default=100, ge=1)
    # Verification is what lets a tutor sell; a small deployment that vets its tutors another
    # way may let unverified (pending) tutors sell too. Rejected tutors never sell.
    sell_unverified_tutors: bool = False
    # Tutors per job of the daily roll: each batch is its own job and transaction, so a failed
    # batch is retried alone and no transaction holds slot rows for long.
    roll_batch_tutors: int = Field(default=200, ge=1, le=2000)
    # How long a student may change a review after writing it; then it is frozen.
    review_edit_window_hours: int = Field(default=72, ge=0, le=24 * 90)
    # Where a booking meets when the tutor has no standing meeting link of their own: each booking
    # gets a fresh unguessable room in this pattern (a Jitsi Meet server needs no account). A
    # tutor connected to Google gets a Google Meet link from the calendar event instead. Empty:
    # no link is made.
    meeting_url_pattern: str = Field(default="https://meet.jit.si/studyhall-{room}", max_length=500)
    google_calendar_base_url: str = "https://www.googleapis.com/calendar/v3"
    google_calendar_timeout_s: float = Field(default=15.0, gt=0)
    # Connecting Google Calendar (OAuth 2.0 authorization code with PKCE). Unset client id:
    # connecting is 422 ``google_not_configured``.
    google_oauth_client_id: str | None = None
    google_oauth_client_secret: SecretStr | None = None
    # Our callback as registered with Google: <base URL>/api/v1/calendar/google/callback.
    google_oauth_redirect_url: str | None = None
    # Where the browser goes after the callback (the web app); unset: the callback answers JSON.
    google_oauth_done_url: str | None = None
    google_oauth_auth_url: str = "https://accounts.google.com/o/oauth2/v2/auth"
    google_oauth_token_url: str = "https://oauth2.googleapis.com/token"
    google_oauth_revoke_url: str = "https://oauth2.googleapis.com/revoke"

    @field_validator("meeting_url_pattern")
    @classmethod
    def _one_room_placeholder(cls, value: str) -> str:
        if value and value.count("{room}") != 1:
            raise ValueError("the meeting URL pattern needs exactly one {room}")
        return value


@lru_cache
def scheduling_settings() -> SchedulingSettings:
    return SchedulingSettings()
