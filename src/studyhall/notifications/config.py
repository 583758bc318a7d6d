"""Notification settings, read from the environment (prefix ``STUDYHALL_NOTIFY_``)."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from studyhall.notifications.timing import parse_offset


class NotificationConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STUDYHALL_NOTIFY_", extra="ignore")

    # Days are calendar days in the recipient's zone; hours and minutes are elapsed time.
    reminder_offsets: list[str] = ["1d", "1h"]
    credit_low_threshold: int = Field(default=3, ge=1)
    broadcast_batch_size: int = Field(default=1000, ge=1, le=10_000)

    sms_backend: Literal["log", "twilio"] = "log"
    twilio_base_url: str = "https://api.twilio.com"
    twilio_account_sid: str = ""
    twilio_auth_token: SecretStr = SecretStr("")
    twilio_from: str = ""
    sms_timeout_s: float = Field(default=15.0, gt=0)

    @field_validator("reminder_offsets")
    @classmethod
    def _offsets_parse(cls, value: list[str]) -> list[str]:
        for offset in value:
            parse_offset(offset)
        return value


@lru_cache
def get_config() -> NotificationConfig:
    return NotificationConfig()
