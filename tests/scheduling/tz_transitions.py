"""Test oracle: UTC offset transitions found by scanning, independent of the code under test.

Everything is measured from a fixed reference date, never "now", so the zone list and the
expected values are the same on every run (for a given tzdata).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

REFERENCE_DATE = date(2026, 11, 22)
REFERENCE = datetime(2026, 11, 22, tzinfo=UTC)
SCAN_END = datetime(2028, 11, 22, tzinfo=UTC)  # 24 months
# Real transitions are weeks apart (Morocco's Ramadan changes are the closest, ~1 month).
_SCAN_STEP = timedelta(days=3)
# zoneinfo can load these from the host, but they are not portable IANA zones; the
# validator refuses them, so they are left out here.
_NOT_PORTABLE = {"localtime", "Factory", "posixrules"}


@dataclass(frozen=True)
class Transition:
    zone: str
    at: datetime  # first UTC instant with the new offset
    before: timedelta  # UTC offset just before
    after: timedelta  # UTC offset from `at` on

    @property
    def gap(self) -> bool:
        return self.after > self.before

    @property
    def local_before(self) -> datetime:
        """Naive wall time shown just before the change (the start of the gap/overlap)."""
        return (self.at + self.before).replace(tzinfo=None)

    @property
    def local_after(self) -> datetime:
        """Naive wall time shown right at the change."""
        return (self.at + self.after).replace(tzinfo=None)


def _offset(zone: ZoneInfo, instant: datetime) -> timedelta:
    offset = instant.astimezone(zone).utcoffset()
    assert offset is not None
    return offset


def _pinpoint(zone: ZoneInfo, low: datetime, high: datetime) -> datetime:
    # Bisect to the second: offsets change on whole seconds.
    before = _offset(zone, low)
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) // 2
        middle = middle.replace(microsecond=0)
        if _offset(zone, middle) == before:
            low = middle
        else:
            high = middle
    return high


def scan_transitions(
    name: str, start: datetime = REFERENCE, end: datetime = SCAN_END
) -> list[Transition]:
    zone = ZoneInfo(name)
    found: list[Transition] = []
    cursor, offset = start, _offset(zone, start)
    while cursor < end:
        following = min(cursor + _SCAN_STEP, end)
        new_offset = _offset(zone, following)
        if new_offset != offset:
            at = _pinpoint(zone, cursor, following)
            found.append(Transition(name, at, offset, new_offset))
            offset = new_offset
        cursor = following
    return found


@functools.cache
def zones_with_transitions() -> dict[str, tuple[Transition, ...]]:
    """Every portable IANA zone whose UTC offset changes in the 24 scanned months."""
    result: dict[str, tuple[Transition, ...]] = {}
    for name in sorted(available_timezones() - _NOT_PORTABLE):
        if name.startswith(("posix/", "right/")):
            continue
        transitions = scan_transitions(name)
        if transitions:
            result[name] = tuple(transitions)
    return result


def all_transitions() -> list[Transition]:
    return [t for transitions in zones_with_transitions().values() for t in transitions]
