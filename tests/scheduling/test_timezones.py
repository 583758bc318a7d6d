"""studyhall.kit.timezones: zone validation, the gap/fall-back policy, local day and week."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from studyhall.kit.timezones import (
    GapPolicy,
    LocalTimeKind,
    classify_local,
    ensure_utc,
    local_date,
    local_day_bounds,
    local_to_utc,
    local_week_bounds,
    localize,
    validate_zone,
)
from tests.scheduling.tz_transitions import Transition, all_transitions

NEW_YORK = ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# --- validate_zone ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["Europe/Copenhagen", "Asia/Kathmandu", "UTC", "America/Argentina/Buenos_Aires"]
)
def test_validate_zone_returns_the_zone(name: str) -> None:
    assert validate_zone(name) == ZoneInfo(name)
    assert validate_zone(name).key == name


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Mars/Olympus_Mons", r"unknown time zone 'Mars/Olympus_Mons': expected an IANA name"),
        ("europe/copenhagen", r"did you mean 'Europe/Copenhagen'\?"),
        ("", r"time zone must be an IANA name such as 'Europe/Copenhagen', got ''"),
        ("   ", r"time zone must be an IANA name"),
        ("../../etc/passwd", r"unknown time zone '../../etc/passwd'"),
        ("/usr/share/zoneinfo/UTC", r"unknown time zone"),
        ("localtime", r"unknown time zone 'localtime'"),
        ("Factory", r"unknown time zone 'Factory'"),
        ("+02:00", r"unknown time zone '\+02:00'"),
    ],
)
def test_validate_zone_refuses_unknown_names(name: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_zone(name)


def test_validate_zone_refuses_a_non_string() -> None:
    with pytest.raises(ValueError, match="time zone must be an IANA name"):
        validate_zone(None)  # type: ignore[arg-type]


# --- ensure_utc / local_date ------------------------------------------------------------


def test_ensure_utc_converts_aware_values_to_utc() -> None:
    plus_two = datetime(2027, 3, 28, 9, 0, tzinfo=timezone(timedelta(hours=2)))
    result = ensure_utc(plus_two, "start")
    assert result == utc(2027, 3, 28, 7, 0)
    assert result.tzinfo is UTC


def test_ensure_utc_refuses_naive_values_naming_the_field() -> None:
    with pytest.raises(ValueError, match=r"^start must be timezone-aware \(UTC\), got naive "):
        ensure_utc(datetime(2027, 3, 28, 9, 0), "start")


def test_local_date_near_the_date_line() -> None:
    kiritimati = ZoneInfo("Pacific/Kiritimati")
    assert local_date(utc(2026, 12, 31, 10, 0), kiritimati) == date(2027, 1, 1)
    assert local_date(utc(2026, 12, 31, 9, 59), kiritimati) == date(2026, 12, 31)


# --- classify_local / localize: goldens -------------------------------------------------


@pytest.mark.parametrize(
    ("wall", "zone", "kind"),
    [
        (datetime(2027, 3, 14, 2, 30), NEW_YORK, LocalTimeKind.NONEXISTENT),
        (datetime(2027, 3, 14, 3, 0), NEW_YORK, LocalTimeKind.UNIQUE),
        (datetime(2027, 3, 14, 1, 59), NEW_YORK, LocalTimeKind.UNIQUE),
        (datetime(2026, 11, 1, 1, 30), NEW_YORK, LocalTimeKind.AMBIGUOUS),
        (datetime(2026, 11, 1, 2, 0), NEW_YORK, LocalTimeKind.UNIQUE),
        (datetime(2027, 10, 3, 2, 15), LORD_HOWE, LocalTimeKind.NONEXISTENT),
        (datetime(2027, 10, 3, 2, 30), LORD_HOWE, LocalTimeKind.UNIQUE),
        (datetime(2027, 4, 4, 1, 45), LORD_HOWE, LocalTimeKind.AMBIGUOUS),
        (datetime(2027, 4, 4, 1, 29), LORD_HOWE, LocalTimeKind.UNIQUE),
    ],
)
def test_classify_local(wall: datetime, zone: ZoneInfo, kind: LocalTimeKind) -> None:
    assert classify_local(wall, zone) is kind


def test_gap_shifts_forward_by_the_gap_length_new_york() -> None:
    result = localize(datetime(2027, 3, 14, 2, 30), NEW_YORK)
    assert result is not None
    assert result.replace(tzinfo=None) == datetime(2027, 3, 14, 3, 30)
    assert result.utcoffset() == timedelta(hours=-4)
    assert result.astimezone(UTC) == utc(2027, 3, 14, 7, 30)


def test_gap_shifts_forward_by_half_an_hour_on_lord_howe() -> None:
    result = localize(datetime(2027, 10, 3, 2, 15), LORD_HOWE)
    assert result is not None
    assert result.replace(tzinfo=None) == datetime(2027, 10, 3, 2, 45)
    assert result.utcoffset() == timedelta(hours=11)
    assert result.astimezone(UTC) == utc(2027, 10, 2, 15, 45)


def test_gap_skip_policy_returns_none() -> None:
    assert localize(datetime(2027, 3, 14, 2, 30), NEW_YORK, GapPolicy.SKIP) is None
    kept = localize(datetime(2027, 3, 14, 3, 30), NEW_YORK, GapPolicy.SKIP)
    assert kept is not None and kept.astimezone(UTC) == utc(2027, 3, 14, 7, 30)


def test_ambiguous_time_takes_the_first_occurrence() -> None:
    result = localize(datetime(2026, 11, 1, 1, 30), NEW_YORK)
    assert result is not None
    assert result.fold == 0
    assert result.utcoffset() == timedelta(hours=-4)  # EDT, before the clocks go back
    assert result.astimezone(UTC) == utc(2026, 11, 1, 5, 30)
    assert local_to_utc(datetime(2027, 4, 4, 1, 45), LORD_HOWE) == utc(2027, 4, 3, 14, 45)


def test_localize_refuses_an_aware_wall_time() -> None:
    with pytest.raises(ValueError, match="expected a naive local wall time, got aware"):
        localize(utc(2027, 3, 14, 2, 30), NEW_YORK)


# --- local_day_bounds / local_week_bounds -----------------------------------------------


@pytest.mark.parametrize(
    ("zone", "day", "start", "end", "hours"),
    [
        ("America/New_York", date(2027, 3, 14), utc(2027, 3, 14, 5), utc(2027, 3, 15, 4), 23),
        ("America/New_York", date(2026, 11, 1), utc(2026, 11, 1, 4), utc(2026, 11, 2, 5), 25),
        ("America/New_York", date(2027, 6, 1), utc(2027, 6, 1, 4), utc(2027, 6, 2, 4), 24),
        (
            "Australia/Lord_Howe",
            date(2027, 10, 3),
            utc(2027, 10, 2, 13, 30),
            utc(2027, 10, 3, 13, 0),
            23.5,
        ),
        (
            "Australia/Lord_Howe",
            date(2027, 4, 4),
            utc(2027, 4, 3, 13, 0),
            utc(2027, 4, 4, 13, 30),
            24.5,
        ),
        ("Pacific/Kiritimati", date(2027, 1, 1), utc(2026, 12, 31, 10), utc(2027, 1, 1, 10), 24),
        # Midnight falls in the gap: the day starts at its first existing instant, 01:00.
        ("America/Santiago", date(2027, 9, 5), utc(2027, 9, 5, 4), utc(2027, 9, 6, 3), 23),
        ("America/Havana", date(2027, 3, 14), utc(2027, 3, 14, 5), utc(2027, 3, 15, 4), 23),
        # Midnight happens twice: the day starts at the first one.
        ("America/Havana", date(2027, 11, 7), utc(2027, 11, 7, 4), utc(2027, 11, 8, 5), 25),
        # Clocks go back from 24:00 to 23:00: the repeated hour belongs to the 3rd.
        ("America/Santiago", date(2027, 4, 3), utc(2027, 4, 3, 3), utc(2027, 4, 4, 4), 25),
    ],
)
def test_local_day_bounds(
    zone: str, day: date, start: datetime, end: datetime, hours: float
) -> None:
    assert local_day_bounds(day, ZoneInfo(zone)) == (start, end)
    assert end - start == timedelta(hours=hours)


def test_local_week_bounds_is_the_iso_week_in_local_time() -> None:
    # 2026-11-01 is a Sunday: its ISO week runs Monday 26 Oct to Monday 2 Nov and holds the
    # fall-back, so it lasts 7 days and 1 hour.
    expected = (utc(2026, 10, 26, 4), utc(2026, 11, 2, 5))
    assert local_week_bounds(date(2026, 11, 1), NEW_YORK) == expected
    assert local_week_bounds(date(2026, 10, 26), NEW_YORK) == expected
    assert local_week_bounds(date(2026, 11, 2), NEW_YORK)[0] == utc(2026, 11, 2, 5)
    start, end = local_week_bounds(date(2026, 11, 1), NEW_YORK)
    assert end - start == timedelta(days=7, hours=1)


def test_day_bounds_refuse_a_datetime() -> None:
    with pytest.raises(ValueError, match="day must be a date, got datetime"):
        local_day_bounds(datetime(2027, 1, 1), NEW_YORK)
    with pytest.raises(ValueError, match="day must be a date, got datetime"):
        local_week_bounds(datetime(2027, 1, 1), NEW_YORK)


# --- property: localize around every transition of every zone ---------------------------


def oracle_instant(wall: datetime, transition: Transition) -> tuple[datetime | None, datetime]:
    """(first instant showing `wall`, or None if none does; instant under the gap rule).

    Built only from the two offsets measured by the scan, not from the code under test.
    """
    zone = ZoneInfo(transition.zone)
    showing = sorted(
        instant
        for offset in {transition.before, transition.after}
        if (instant := (wall - offset).replace(tzinfo=UTC)).astimezone(zone).replace(tzinfo=None)
        == wall
    )
    pre_gap = (wall - transition.before).replace(tzinfo=UTC)  # RFC 5545: offset before
    return (showing[0] if showing else None), pre_gap


@settings(max_examples=400, deadline=None)
@given(
    transition=st.sampled_from(all_transitions()),
    minutes=st.integers(min_value=-150, max_value=150),
)
def test_localize_follows_the_policy_around_every_transition(
    transition: Transition, minutes: int
) -> None:
    zone = ZoneInfo(transition.zone)
    wall = transition.local_before + timedelta(minutes=minutes)
    first_showing, pre_gap = oracle_instant(wall, transition)

    result = localize(wall, zone)
    skipped = localize(wall, zone, GapPolicy.SKIP)

    assert result is not None
    # The result is a real instant: converting it to UTC and back changes nothing.
    assert result.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == result.replace(
        tzinfo=None
    )
    if first_showing is not None:
        assert result.astimezone(UTC) == first_showing
        assert result.replace(tzinfo=None) == wall
        assert skipped == result
    else:
        assert transition.gap
        assert result.astimezone(UTC) == pre_gap
        assert result.replace(tzinfo=None) == wall + (transition.after - transition.before)
        assert skipped is None


@settings(max_examples=200, deadline=None)
@given(
    transition=st.sampled_from(all_transitions()),
    hours=st.integers(min_value=-36, max_value=36),
)
def test_local_day_bounds_contain_exactly_that_local_day(
    transition: Transition, hours: int
) -> None:
    zone = ZoneInfo(transition.zone)
    day = (transition.at + timedelta(hours=hours)).astimezone(zone).date()
    start, end = local_day_bounds(day, zone)
    assert start.astimezone(zone).date() == day
    assert (start - timedelta(seconds=1)).astimezone(zone).date() == day - timedelta(days=1)
    assert (end - timedelta(seconds=1)).astimezone(zone).date() == day
    assert end.astimezone(zone).date() == day + timedelta(days=1)
    assert end == local_day_bounds(day + timedelta(days=1), zone)[0]
    assert start.astimezone(zone).time() in {time(0), time(1), time(0, 30)}
