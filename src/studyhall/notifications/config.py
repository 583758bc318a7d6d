"""Notification settings, read from the environment (prefix ``STUDYHALL_NOTIFY_``), and the
reminder offsets they name."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from studyhall.kit.timezones import local_to_utc

_OFFSET = re.compile(r"^(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?$")


@dataclass(frozen=True)
class Offset:
    """How long before a start a reminder goes out. ``label`` names it in dedupe keys."""

    label: str
    days: int
    elapsed: timedelta

    def before(self, starts_at: datetime, zone: ZoneInfo) -> datetime:
        # "1d" means the same local time the day before, which is 23 or 25 hours across a DST
        # change; hours and minutes are real elapsed time.
        wall = starts_at.astimezone(zone).replace(tzinfo=None) - timedelta(days=self.days)
        return local_to_utc(wall, zone) - self.elapsed


def parse_offset(label: str) -> Offset:
    match = _OFFSET.match(label)
    if not label or match is None:
        raise ValueError(f"'{label}' is not a reminder offset such as '1d', '1h' or '30m'")
    days, hours, minutes = (int(match.group(part) or 0) for part in ("d", "h", "m"))
    if days == hours == minutes == 0:
        raise ValueError("a reminder offset must be longer than zero")
    return Offset(label, days, timedelta(hours=hours, minutes=minutes))


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
