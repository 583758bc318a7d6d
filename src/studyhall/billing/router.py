"""Transitional: ``domains.py`` still mounts ``<domain>.router``; the lead switches it to
``<domain>.routes`` at merge, and this module is deleted then."""

from __future__ import annotations

from studyhall.billing.routes import router

__all__ = ["router"]
