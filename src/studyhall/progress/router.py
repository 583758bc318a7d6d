"""Where ``studyhall.domains`` finds the progress API."""

from __future__ import annotations

from studyhall.progress.routes import router

__all__ = ["router"]
