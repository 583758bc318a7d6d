"""Wall-clock arithmetic in the recipient's zone: when quiet hours end, which zone a user is in."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from studyhall.kit.timezones import local_to_utc, validate_zone


def quiet_release(
    at: datetime, zone: ZoneInfo, start: time | None, end: time | None
) -> datetime | None:
    """When a delivery due ``at`` may go out if ``at`` falls in quiet hours; None if it does not.

    The window ``[start, end)`` is local wall-clock time and may cross midnight (22:00-07:00).
    The release is that local ``end`` on the right date, converted with the zone's offset of that
    date, so a DST change between the two nights moves the UTC instant by an hour.
    """
    if start is None or end is None or start == end:
        return None
    local = at.astimezone(zone)
    now = local.time().replace(tzinfo=None)
    if start < end:
        if not start <= now < end:
            return None
        release_date = local.date()
    elif now >= start:
        release_date = local.date() + timedelta(days=1)
    elif now < end:
        release_date = local.date()
    else:
        return None
    # A release time inside a spring-forward gap is shifted forward past it (kit.timezones).
    return local_to_utc(datetime.combine(release_date, end), zone)


def zone_of(name: str) -> ZoneInfo:
    """A stored user's zone; UTC if the name is unknown to this server's zone database."""
    try:
        return validate_zone(name)
    except ValueError:
        return ZoneInfo("UTC")
