"""Wall-clock arithmetic in the recipient's zone: quiet hours and reminder offsets (rule 7)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from studyhall.kit.timezones import local_to_utc, validate_zone

_OFFSET = re.compile(r"^(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?$")


@dataclass(frozen=True)
class Offset:
    """How long before a start a reminder goes out. ``label`` names it in dedupe keys."""

    label: str
    days: int
    elapsed: timedelta

    def before(self, starts_at: datetime, zone: ZoneInfo) -> datetime:
        # "1d" means the same local time the day before, which is 23 or 25 hours across a DST
        # change; hours and minutes are real elapsed time.
        wall = starts_at.astimezone(zone).replace(tzinfo=None) - timedelta(days=self.days)
        return local_to_utc(wall, zone) - self.elapsed


def parse_offset(label: str) -> Offset:
    match = _OFFSET.match(label)
    if not label or match is None:
        raise ValueError(f"'{label}' is not a reminder offset such as '1d', '1h' or '30m'")
    days, hours, minutes = (int(match.group(part) or 0) for part in ("d", "h", "m"))
    if days == hours == minutes == 0:
        raise ValueError("a reminder offset must be longer than zero")
    return Offset(label, days, timedelta(hours=hours, minutes=minutes))


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
