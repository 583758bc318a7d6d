"""Progress settings, read from the environment (prefix ``STUDYHALL_PROGRESS_``)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ProgressConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STUDYHALL_PROGRESS_", extra="ignore")

    # A running timer without a heartbeat for this long closes itself at its last heartbeat.
    idle_timeout_s: int = Field(default=300, ge=30, le=3600)
    # A forgotten tab cannot farm XP: one session counts at most this long, and study time
    # earns XP for at most this many minutes per local day.
    session_cap_minutes: int = Field(default=180, ge=1, le=24 * 60)
    daily_xp_minutes_cap: int = Field(default=240, ge=1, le=24 * 60)


@lru_cache
def get_config() -> ProgressConfig:
    return ProgressConfig()
