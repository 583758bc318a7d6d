"""Time zone helpers: IANA zone validation and local wall time <-> UTC.

Studyhall stores instants as UTC and keeps rules as local wall time plus an IANA zone.
Turning a wall time back into an instant is where bugs hide, because a wall time can be
missing (spring-forward gap) or repeated (fall-back). Every conversion in the project goes
through `localize`, so there is exactly one policy:

* **Gap** (the wall time does not exist): it is read with the UTC offset in force
  *before* the gap, which moves it forward by the length of the gap. 02:30 on a day when
  clocks jump 02:00 -> 03:00 becomes 03:30; on Lord Howe (a 30-minute jump) 02:15 becomes
  02:45. This is RFC 5545 section 3.3.5 for DTSTART in a gap, and PEP 495's `fold=0`.
* **Ambiguous** (the wall time happens twice): the *first* occurrence (`fold=0`, the
  offset before the change) is used, so a repeated hour never yields two instants.

Gaps and repeats are detected by round-tripping through UTC with both `fold` values
(zoneinfo), never by asking for "the current offset".

`validate_zone` is the one rule for which names are zones, for the whole service: a user's
zone, a rule's zone and a `tz` parameter all pass through it, so a zone accepted at sign-up is
a zone scheduling can use (`TimeZoneName` is the same rule as a Pydantic field type).
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import AfterValidator, Field

__all__ = [
    "GapPolicy",
    "LocalTimeKind",
    "TimeZoneName",
    "classify_local",
    "ensure_utc",
    "local_date",
    "local_day_bounds",
    "local_to_utc",
    "local_week_bounds",
    "localize",
    "validate_zone",
]

# Names that zoneinfo can load from the host's zone directory but that are not portable
# IANA zones: "localtime" is whatever the server is set to, "Factory" has no real offset.
_NOT_PORTABLE = frozenset({"localtime", "Factory", "posixrules"})
_NOT_PORTABLE_PREFIXES = ("posix/", "right/")


class GapPolicy(StrEnum):
    """What `localize` does with a wall time that falls in a spring-forward gap."""

    SHIFT_FORWARD = "shift_forward"
    """Read it with the offset before the gap (RFC 5545); the project-wide default."""
    SKIP = "skip"
    """Return None, for callers that must not invent a time (e.g. a one-off booking)."""


class LocalTimeKind(StrEnum):
    UNIQUE = "unique"
    NONEXISTENT = "nonexistent"
    AMBIGUOUS = "ambiguous"


@functools.cache
def _known_zones() -> frozenset[str]:
    # available_timezones() walks the zone directories; it is called once per process.
    return frozenset(
        name
        for name in available_timezones()
        if name not in _NOT_PORTABLE and not name.startswith(_NOT_PORTABLE_PREFIXES)
    )


def validate_zone(name: str) -> ZoneInfo:
    """Return the zone for an IANA name such as ``Europe/Copenhagen``; ValueError if unknown."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(
            f"time zone must be an IANA name such as 'Europe/Copenhagen', got {name!r}"
        )
    if name not in _known_zones():
        raise ValueError(_unknown_zone_message(name))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:  # listed but unreadable: same answer
        raise ValueError(_unknown_zone_message(name)) from exc


def _checked_zone_name(name: str) -> str:
    validate_zone(name)
    return name


TimeZoneName = Annotated[
    str, Field(min_length=1, max_length=64), AfterValidator(_checked_zone_name)
]
"""A request field holding an IANA zone name, checked by `validate_zone`."""


def _unknown_zone_message(name: str) -> str:
    # Case is the most common mistake ("europe/copenhagen"), so name the right spelling.
    matches = sorted(zone for zone in _known_zones() if zone.lower() == name.lower())
    hint = f"; did you mean {matches[0]!r}?" if matches else ""
    return f"unknown time zone {name!r}: expected an IANA name such as 'Europe/Copenhagen'{hint}"


def ensure_utc(value: datetime, name: str = "datetime") -> datetime:
    """Return an aware datetime as UTC; ValueError for a naive one.

    A naive datetime at a boundary is refused rather than guessed: assuming UTC or server
    local time is exactly the silent shift that storing instants as UTC exists to prevent.
    """
    if not isinstance(value, datetime):
        raise ValueError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is UTC:
        return value  # the common case, on the hot path of slot materialisation
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (UTC), got naive {value.isoformat()}")
    return value.astimezone(UTC)


def _copy(wall: datetime, tz: tzinfo | None = None, fold: int = 0) -> datetime:
    # datetime.replace() is about three times slower than the constructor on CPython 3.11,
    # and this runs for every occurrence of every availability rule.
    return datetime(
        wall.year, wall.month, wall.day, wall.hour, wall.minute, wall.second,
        wall.microsecond, tzinfo=tz, fold=fold,
    )  # fmt: skip


def _offset(zone: ZoneInfo, wall: datetime) -> timedelta:
    offset = zone.utcoffset(wall)
    if offset is None:  # never for a ZoneInfo; keeps the type honest
        raise ValueError(f"time zone {zone.key!r} has no UTC offset at {wall.isoformat()}")
    return offset


def _classify(wall: datetime, zone: ZoneInfo) -> tuple[LocalTimeKind, timedelta]:
    """The kind of a naive wall time, and its fold=0 offset.

    For fold=0 zoneinfo (PEP 495) gives the offset in force *before* a transition, both
    in a gap and in a repeat, which is exactly the offset the policy uses in both cases.
    """
    if wall.fold:
        wall = _copy(wall)
    first = _offset(zone, wall)
    # Outside transitions both folds agree: the cheap, common path.
    if first == _offset(zone, _copy(wall, fold=1)):
        return LocalTimeKind.UNIQUE, first
    # Folds disagree: the wall time is either repeated or missing. It exists iff reading
    # it with the fold=0 offset and converting back from UTC gives it back.
    back = _copy(wall - first, UTC).astimezone(zone)
    if _copy(back) == wall:
        return LocalTimeKind.AMBIGUOUS, first
    return LocalTimeKind.NONEXISTENT, first


def _require_naive(naive_local: datetime) -> None:
    if not isinstance(naive_local, datetime):
        raise ValueError(f"expected a naive local datetime, got {type(naive_local).__name__}")
    if naive_local.tzinfo is not None:
        raise ValueError(
            f"expected a naive local wall time, got aware {naive_local.isoformat()}; "
            "the zone is passed separately"
        )


def classify_local(naive_local: datetime, zone: ZoneInfo) -> LocalTimeKind:
    """Say whether a wall time exists once, never (gap) or twice (fall-back) in `zone`."""
    _require_naive(naive_local)
    return _classify(naive_local, zone)[0]


def localize(
    naive_local: datetime,
    zone: ZoneInfo,
    policy: GapPolicy = GapPolicy.SHIFT_FORWARD,
) -> datetime | None:
    """Attach `zone` to a wall time following the module's gap/fall-back policy.

    Returns an aware datetime in `zone` whose wall time is the input, except in a gap,
    where it is the input moved forward by the gap length (or None under `GapPolicy.SKIP`).
    Ambiguous wall times get their first occurrence (fold=0).
    """
    _require_naive(naive_local)
    kind, offset = _classify(naive_local, zone)
    if kind is LocalTimeKind.NONEXISTENT and policy is GapPolicy.SKIP:
        return None
    # Converting back from UTC yields the real wall time: the input, or in a gap the
    # input plus the gap length.
    return _copy(naive_local - offset, UTC).astimezone(zone)


def local_to_utc(naive_local: datetime, zone: ZoneInfo) -> datetime:
    """`localize` with the default policy, as a UTC instant (never None)."""
    _require_naive(naive_local)
    return _copy(naive_local - _classify(naive_local, zone)[1], UTC)


def local_date(instant: datetime, zone: ZoneInfo) -> date:
    """The calendar date an instant falls on for a person living in `zone`."""
    return ensure_utc(instant, "instant").astimezone(zone).date()


def local_day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """UTC [start, end) of a calendar day in `zone`: 23, 24 or 25 hours (or stranger).

    Midnight follows the shared policy: where it falls in a gap (Chile, Cuba and Lebanon
    jump from 00:00 to 01:00) the day starts at 01:00, its first existing instant; where
    it happens twice, at the first one. Each day ends where the next begins, so
    consecutive days tile time with no gap or overlap.
    """
    if isinstance(day, datetime) or not isinstance(day, date):
        raise ValueError(f"day must be a date, got {type(day).__name__}")
    start = local_to_utc(datetime.combine(day, time()), zone)
    end = local_to_utc(datetime.combine(day + timedelta(days=1), time()), zone)
    return start, end


def local_week_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """UTC [start, end) of the ISO week (Monday 00:00 to Monday 00:00) containing `day`."""
    if isinstance(day, datetime) or not isinstance(day, date):
        raise ValueError(f"day must be a date, got {type(day).__name__}")
    monday = day - timedelta(days=day.weekday())
    start, _ = local_day_bounds(monday, zone)
    end, _ = local_day_bounds(monday + timedelta(days=7), zone)
    return start, end
