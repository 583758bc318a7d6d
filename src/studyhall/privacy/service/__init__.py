"""Privacy business rules: export, erasure, retention (no HTTP here)."""

from studyhall.privacy.service.export import get_export, request_export

__all__ = ["get_export", "request_export"]
