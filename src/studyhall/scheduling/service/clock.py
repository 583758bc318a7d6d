"""The clock and time zones as the scheduling services read them."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from studyhall.kit.errors import Unprocessable
from studyhall.kit.timezones import validate_zone


def utcnow() -> datetime:
    return datetime.now(UTC)


def zone_or_422(name: str, field: str = "timezone") -> ZoneInfo:
    try:
        return validate_zone(name)
    except ValueError as exc:
        raise Unprocessable(str(exc), code="unknown_timezone", field=field) from exc
