"""Outgoing-webhook settings, read from the environment (prefix ``STUDYHALL_WEBHOOKS_``)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# Seconds after a failed attempt before the next one: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
DEFAULT_RETRY_SCHEDULE_S = [5, 300, 1800, 7200, 18000, 36000, 36000]


class IntegrationsConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STUDYHALL_WEBHOOKS_", extra="ignore")

    # One attempt (connect, send, read the answer) may take at most this long.
    timeout_s: float = Field(default=10.0, gt=0, le=60)
    # The waits between attempts; when they run out the delivery is given up ("failed").
    retry_schedule_s: list[int] = Field(default=DEFAULT_RETRY_SCHEDULE_S, max_length=20)
    # This many failed attempts in a row, with no success in between, disable an endpoint and
    # the admins get an e-mail.
    disable_after_failures: int = Field(default=15, ge=1, le=1000)
    # After a secret rotation the old secret keeps signing, beside the new one, this long.
    rotation_grace_hours: int = Field(default=24, ge=0, le=24 * 30)
    # Delivered and given-up deliveries (with their attempts) are deleted after this many days.
    delivery_retention_days: int = Field(default=30, ge=1, le=3650)


@lru_cache
def get_config() -> IntegrationsConfig:
    return IntegrationsConfig()
