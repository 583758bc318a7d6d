"""Where ``studyhall.domains`` finds the privacy API."""

from __future__ import annotations

from studyhall.privacy.routes import router

__all__ = ["router"]
