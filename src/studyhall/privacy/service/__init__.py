"""Privacy business rules: export, erasure, retention, off-site backup copies (no HTTP here)."""

from studyhall.privacy.service.backups import copy_offsite
from studyhall.privacy.service.export import get_export, request_export

__all__ = ["copy_offsite", "get_export", "request_export"]
