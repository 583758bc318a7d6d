"""The audit domain's public surface: record who did what to which entity, describe a change,
read the log, and keep its monthly partitions."""

from studyhall.audit.service.partitions import (
    ArchivedMonth,
    archive_expired_months,
    ensure_months,
)
from studyhall.audit.service.reading import AuditFilter, list_entries, redact
from studyhall.audit.service.records import changes, record

__all__ = [
    "ArchivedMonth",
    "AuditFilter",
    "archive_expired_months",
    "changes",
    "ensure_months",
    "list_entries",
    "record",
    "redact",
]
