"""Times on the wire: RFC 3339 in UTC with a ``Z`` (``2027-03-01T09:30:00Z``), everywhere.

Pydantic writes an aware UTC ``datetime`` that way already; ``isoformat()`` does not (it writes
``+00:00``), so payloads built by hand (notification payloads, e-mail links, outgoing webhooks,
export files) use ``rfc3339`` or pass ``json_default`` to ``json.dumps``. Connections run with
``TimeZone=UTC`` (``db.engine.session_options``), so what PostgreSQL returns is already UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any


def rfc3339(moment: datetime) -> str:
    """``moment`` in UTC with a ``Z``; microseconds only when there are any."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"a time on the wire must be timezone-aware, got naive {moment!r}")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def json_default(value: Any) -> Any:
    """``json.dumps(..., default=json_default)``: times as ``rfc3339``, days as ISO dates,
    anything else (UUIDs, decimals) as its text."""
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
