"""Quiet hours and reminder offsets are wall-clock arithmetic in the recipient's zone."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from studyhall.notifications.config import parse_offset
from studyhall.notifications.service.timing import quiet_release

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_overnight_quiet_hours_release_at_the_local_end_after_spring_forward() -> None:
    # 22:00 EST on Saturday 7 March 2026; clocks go forward at 02:00 on Sunday 8 March.
    # 07:00 on Sunday is EDT (UTC-4): 11:00 UTC, not the 12:00 UTC a fixed offset would give.
    at = utc(2026, 3, 8, 3, 0)
    assert quiet_release(at, NEW_YORK, time(22, 0), time(7, 0)) == utc(2026, 3, 8, 11, 0)


def test_overnight_quiet_hours_release_at_the_local_end_after_fall_back() -> None:
    # 23:30 EDT on Saturday 31 October 2026; clocks go back on Sunday 1 November.
    at = utc(2026, 11, 1, 3, 30)
    assert quiet_release(at, NEW_YORK, time(22, 0), time(7, 0)) == utc(2026, 11, 1, 12, 0)


def test_a_release_inside_the_spring_forward_gap_is_the_first_instant_after_it() -> None:
    # 02:30 does not exist on 8 March 2026 in New York; the release is 03:30 EDT = 07:30 UTC.
    at = utc(2026, 3, 8, 6, 30)  # 01:30 EST
    assert quiet_release(at, NEW_YORK, time(1, 0), time(2, 30)) == utc(2026, 3, 8, 7, 30)


@pytest.mark.parametrize(
    ("local_hour", "minute", "released"),
    [
        (21, 59, None),  # before the window
        (22, 0, utc(2026, 6, 2, 5, 0)),  # 07:00 CEST next day
        (6, 59, utc(2026, 6, 2, 5, 0)),  # still quiet in the morning
        (7, 0, None),  # the end is not quiet
        (12, 0, None),
    ],
)
def test_overnight_window_edges(local_hour: int, minute: int, released: datetime | None) -> None:
    day = 1 if local_hour >= 12 else 2
    at = datetime(2026, 6, day, local_hour, minute, tzinfo=BERLIN).astimezone(UTC)
    assert quiet_release(at, BERLIN, time(22, 0), time(7, 0)) == released


def test_a_same_day_window_and_no_window() -> None:
    at = datetime(2026, 6, 1, 13, 0, tzinfo=BERLIN)
    assert quiet_release(at, BERLIN, time(12, 0), time(14, 0)) == utc(2026, 6, 1, 12, 0)
    assert quiet_release(at, BERLIN, time(14, 0), time(16, 0)) is None
    assert quiet_release(at, BERLIN, None, None) is None


def test_a_day_offset_is_a_calendar_day_in_the_zone_across_dst() -> None:
    # A session at 09:00 EDT on 8 March: "1d" before is 09:00 EST on 7 March, 23 hours earlier.
    starts = datetime(2026, 3, 8, 9, 0, tzinfo=NEW_YORK)
    reminder = parse_offset("1d").before(starts, NEW_YORK)
    assert reminder == utc(2026, 3, 7, 14, 0)
    assert starts - reminder == timedelta(hours=23)
    assert parse_offset("1h").before(starts, NEW_YORK) == utc(2026, 3, 8, 12, 0)
    assert parse_offset("1d2h30m").before(starts, NEW_YORK) == utc(2026, 3, 7, 11, 30)


@pytest.mark.parametrize("label", ["", "0h", "1 day", "h", "-1h", "1x"])
def test_bad_offsets_are_refused(label: str) -> None:
    with pytest.raises(ValueError):
        parse_offset(label)
