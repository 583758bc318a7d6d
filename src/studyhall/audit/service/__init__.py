"""The audit domain's public surface: record who did what to which entity, and describe a change."""

from studyhall.audit.service.records import changes, record

__all__ = ["changes", "record"]
