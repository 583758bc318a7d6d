"""Request dependencies the study routes share: the app's settings."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from studyhall.config import Settings

__all__ = ["AppSettings"]


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


AppSettings = Annotated[Settings, Depends(_settings)]
