"""Bad input is refused with a ValueError whose message says what to fix."""

from __future__ import annotations

import time as clock
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

import pytest

from studyhall.scheduling.calendar.recurrence import (
    AvailabilityRule,
    Interval,
    cut_slots,
    expand_availability,
    filter_bookable,
    parse_rrule,
    validate_rule,
    weekly_rrule,
)

START = datetime(2027, 3, 1, 9, tzinfo=UTC)
HOUR = timedelta(hours=1)


def rule(**changes: Any) -> AvailabilityRule:
    fields: dict[str, Any] = {
        "start_time": time(9),
        "end_time": time(12),
        "zone": "Europe/Copenhagen",
        "rrule": "FREQ=DAILY",
    }
    fields.update(changes)
    return AvailabilityRule(**fields)


# --- RRULE ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"it is empty"),
        ("RRULE:", r"it is empty"),
        ("FREQ=", r"expected NAME=VALUE parts separated by ';', got 'FREQ='"),
        ("FREQ=DAILY;;COUNT=2", r"expected NAME=VALUE parts separated by ';', got ''"),
        ("BYDAY=MO", r"FREQ is required"),
        ("FREQ=HOURLY", r"FREQ=HOURLY is not allowed: availability repeats at most daily"),
        ("FREQ=MINUTELY", r"FREQ=MINUTELY is not allowed"),
        ("FREQ=SECONDLY", r"FREQ=SECONDLY is not allowed"),
        ("FREQ=FORTNIGHTLY", r"FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY"),
        ("FREQ=DAILY;FREQ=WEEKLY", r"FREQ appears more than once"),
        ("FREQ=DAILY;BYHOUR=9", r"BYHOUR is not supported: times of day come from"),
        ("FREQ=DAILY;BYMINUTE=30", r"BYMINUTE is not supported"),
        ("FREQ=DAILY;X-NAME=1", r"unknown part 'X-NAME'"),
        ("FREQ=DAILY;BYEASTER=0", r"unknown part 'BYEASTER'"),
        ("FREQ=DAILY;COUNT=0", r"COUNT must be a whole number from 1 to"),
        ("FREQ=DAILY;COUNT=ten", r"COUNT must be a whole number"),
        ("FREQ=DAILY;COUNT=\u00b2", r"COUNT must be a whole number"),
        ("FREQ=MONTHLY;BYMONTHDAY=\u00b2", r"BYMONTHDAY values must be non-zero whole numbers"),
        ("FREQ=DAILY;INTERVAL=0", r"INTERVAL must be a whole number from 1 to 366"),
        ("FREQ=DAILY;INTERVAL=-2", r"INTERVAL must be a whole number"),
        ("FREQ=DAILY;COUNT=5;UNTIL=20270101", r"COUNT and UNTIL cannot both be given"),
        ("FREQ=DAILY;UNTIL=2027-01-01", r"UNTIL must be YYYYMMDD, YYYYMMDDTHHMMSS or"),
        ("FREQ=DAILY;UNTIL=20271301", r"UNTIL must be YYYYMMDD"),
        ("FREQ=WEEKLY;BYDAY=XX", r"BYDAY items look like MO, 2TU or -1FR, got 'XX'"),
        ("FREQ=WEEKLY;BYDAY=1MO", r"BYDAY ordinals such as '1MO' need FREQ=MONTHLY or YEARLY"),
        ("FREQ=MONTHLY;BYDAY=0MO", r"BYDAY ordinal must be 1..53 or -53..-1"),
        ("FREQ=MONTHLY;BYMONTHDAY=32", r"BYMONTHDAY values must be non-zero whole numbers"),
        ("FREQ=MONTHLY;BYMONTHDAY=0", r"BYMONTHDAY values must be non-zero"),
        ("FREQ=YEARLY;BYMONTH=13", r"BYMONTH values must be non-zero whole numbers from 1 to 12"),
        ("FREQ=WEEKLY;BYMONTHDAY=1", r"BYMONTHDAY cannot be used with FREQ=WEEKLY"),
        ("FREQ=MONTHLY;BYWEEKNO=1", r"BYWEEKNO cannot be used with FREQ=MONTHLY"),
        ("FREQ=DAILY;BYYEARDAY=1", r"BYYEARDAY cannot be used with FREQ=DAILY"),
        ("FREQ=DAILY;BYSETPOS=1", r"BYSETPOS needs another BYxxx part"),
        ("FREQ=WEEKLY;WKST=XX", r"WKST must be one of MO, TU"),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", r"it never selects any date"),
        ("FREQ=DAILY;BYMONTH=4;BYMONTHDAY=31", r"it never selects any date"),
        ("FREQ=WEEKLY;BYDAY=MO;BYSETPOS=2", r"it never selects any date"),
        ("FREQ=MONTHLY;BYDAY=6MO", r"it never selects any date"),
        (
            "DTSTART:20260101T090000\nRRULE:FREQ=DAILY",
            r"give only the RRULE value; DTSTART/EXDATE/RDATE lines are not accepted",
        ),
    ],
)
def test_invalid_rrule(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=r"^invalid RRULE .*: " + message):
        parse_rrule(text)


def test_parse_rrule_refuses_a_non_string() -> None:
    with pytest.raises(ValueError, match="RRULE must be a string, got int"):
        parse_rrule(7)  # type: ignore[arg-type]


def test_parse_rrule_refuses_a_huge_string() -> None:
    with pytest.raises(ValueError, match=r"^RRULE is too long: 1011 characters, at most 1000$"):
        parse_rrule("FREQ=DAILY;" + "BYMONTH=1," * 100)


def test_a_rule_that_can_never_match_is_refused_quickly() -> None:
    began = clock.perf_counter()
    for text in ["FREQ=DAILY;BYMONTH=2;BYMONTHDAY=31", "FREQ=WEEKLY;BYDAY=MO,TU;BYSETPOS=3"]:
        with pytest.raises(ValueError, match="never selects any date"):
            parse_rrule(text)
    # dateutil on its own searches until year 9999: seconds per call.
    assert clock.perf_counter() - began < 1.0


def test_valid_rrules_are_parsed() -> None:
    parsed = parse_rrule("rrule:freq=weekly;byday=we,mo;until=20271231T225959Z")
    assert parsed.text == "FREQ=WEEKLY;BYDAY=WE,MO;UNTIL=20271231T225959Z"
    assert parsed.freq == "WEEKLY"
    assert parsed.by_day == ((0, None), (2, None))
    assert parsed.until == datetime(2027, 12, 31, 22, 59, 59, tzinfo=UTC)
    assert parsed.has_end
    assert parsed.anchor_free
    monthly = parse_rrule("FREQ=MONTHLY;BYDAY=-1FR;COUNT=6")
    assert monthly.by_day == ((4, -1),)
    assert monthly.count == 6
    assert not monthly.anchor_free  # COUNT counts from the first day
    assert parse_rrule("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29").by_month_day == (29,)
    assert parse_rrule("FREQ=DAILY;UNTIL=20270101").until == date(2027, 1, 1)
    assert parse_rrule("FREQ=DAILY;UNTIL=20270101T120000").until == datetime(2027, 1, 1, 12)


def test_validate_rule_needs_an_end_or_a_horizon() -> None:
    with pytest.raises(
        ValueError,
        match=r"^RRULE 'FREQ=WEEKLY;BYDAY=MO' repeats forever: add COUNT or UNTIL, or set a "
        r"booking horizon",
    ):
        validate_rule("FREQ=WEEKLY;BYDAY=MO", has_horizon=False)
    assert validate_rule("FREQ=WEEKLY;BYDAY=MO", has_horizon=True).freq == "WEEKLY"
    assert validate_rule("FREQ=WEEKLY;BYDAY=MO;COUNT=4", has_horizon=False).count == 4
    assert validate_rule("FREQ=DAILY;UNTIL=20270101", has_horizon=False).has_end
    with pytest.raises(ValueError, match="FREQ=HOURLY is not allowed"):
        validate_rule("FREQ=HOURLY;COUNT=3", has_horizon=True)


@pytest.mark.parametrize(
    ("days", "message"),
    [
        ([], r"a weekly rule needs at least one day_of_week"),
        ([7], r"day_of_week must be 0 \(Sunday\) to 6 \(Saturday\), got 7"),
        ([-1], r"got -1"),
        ([True], r"got True"),
        (["1"], r"got '1'"),
    ],
)
def test_weekly_rrule_refuses_bad_days(days: list[Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        weekly_rrule(days)


# --- AvailabilityRule -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"zone": "Europe/Kobenhavn"}, r"unknown time zone 'Europe/Kobenhavn'"),
        ({"zone": "CET+1"}, r"unknown time zone 'CET\+1'"),
        ({"end_time": time(9)}, r"end_time must differ from start_time \(09:00:00\)"),
        ({"start_time": time(9, 0, 30)}, r"start_time must be a whole minute, got 09:00:30"),
        (
            {"end_time": time(12, tzinfo=UTC)},
            r"end_time must be a local wall time without tzinfo",
        ),
        ({"start_time": "09:00"}, r"start_time must be a time of day, got str"),
        (
            {"valid_from": date(2027, 3, 2), "valid_until": date(2027, 3, 1)},
            r"valid_until 2027-03-01 is before valid_from 2027-03-02",
        ),
        ({"valid_from": datetime(2027, 3, 1)}, r"valid_from must be a date, got datetime"),
        ({"rrule": "FREQ=HOURLY"}, r"invalid RRULE 'FREQ=HOURLY'"),
        (
            {"rrule": "FREQ=WEEKLY;COUNT=4"},
            r"RRULE 'FREQ=WEEKLY;COUNT=4' counts from its first day .* valid_from is required",
        ),
        (
            {"rrule": "FREQ=DAILY;INTERVAL=7;BYDAY=MO", "valid_from": date(2027, 3, 2)},
            r"RRULE 'FREQ=DAILY;INTERVAL=7;BYDAY=MO' never occurs from 2027-03-02",
        ),
    ],
)
def test_invalid_availability_rule(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        rule(**changes)


def test_end_before_start_is_an_overnight_window() -> None:
    overnight = rule(start_time=time(22), end_time=time(2))
    assert overnight.crosses_midnight
    result = expand_availability(overnight, START, START + timedelta(days=1))
    assert [(i.start, i.end) for i in result] == [
        (datetime(2027, 3, 1, 21, tzinfo=UTC), datetime(2027, 3, 2, 1, tzinfo=UTC))
    ]


def test_anchored_rule_that_occurs_from_valid_from_is_accepted() -> None:
    weekly = rule(rrule="FREQ=DAILY;INTERVAL=7;BYDAY=MO", valid_from=date(2027, 3, 1))
    result = expand_availability(weekly, START - HOUR * 9, START + timedelta(days=15))
    assert [i.start.date() for i in result] == [
        date(2027, 3, 1),
        date(2027, 3, 8),
        date(2027, 3, 15),
    ]


# --- naive datetimes and bad windows ----------------------------------------------------

NAIVE = datetime(2027, 3, 1, 9)


def test_expand_refuses_naive_and_reversed_windows() -> None:
    with pytest.raises(ValueError, match=r"^window_start_utc must be timezone-aware"):
        expand_availability(rule(), NAIVE, START)
    with pytest.raises(ValueError, match=r"^window_end_utc must be timezone-aware"):
        expand_availability(rule(), START, NAIVE)
    with pytest.raises(ValueError, match=r"window end 2027-03-01T09:00:00\+00:00 must be after"):
        expand_availability(rule(), START, START)


def test_expand_accepts_any_aware_window() -> None:
    plus_one = timezone(timedelta(hours=1))
    local = expand_availability(
        rule(), START.astimezone(plus_one), (START + timedelta(days=1)).astimezone(plus_one)
    )
    assert local == expand_availability(rule(), START, START + timedelta(days=1))
    assert all(i.start.tzinfo is UTC for i in local)


def test_interval_refuses_naive_and_empty_ranges() -> None:
    with pytest.raises(ValueError, match=r"^interval start must be timezone-aware"):
        Interval(NAIVE, START)
    with pytest.raises(ValueError, match=r"^interval end .* must be after its start"):
        Interval(START, START)
    with pytest.raises(ValueError, match=r"^interval end .* must be after its start"):
        Interval(START, START - HOUR)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"duration": timedelta(minutes=20)},
            r"duration must be a positive multiple of 15 minutes, got 0:20:00$",
        ),
        ({"duration": timedelta(0)}, r"duration must be a positive multiple of 15"),
        ({"duration": -HOUR}, r"duration must be a positive multiple of 15"),
        ({"duration": timedelta(minutes=15, seconds=1)}, r"duration must be a positive"),
        ({"duration": 60}, r"duration must be a positive multiple of 15 minutes, got 60"),
        ({"duration": HOUR, "step": timedelta(minutes=10)}, r"step must be a positive multiple"),
        ({"duration": HOUR, "buffer_before": -HOUR}, r"buffer_before must be a duration of zero"),
        ({"duration": HOUR, "buffer_after": -HOUR}, r"buffer_after must be a duration of zero"),
        ({"duration": HOUR, "busy": [(START, START + HOUR)]}, r"each busy interval must be an"),
    ],
)
def test_cut_slots_refuses_bad_arguments(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        cut_slots([Interval(START, START + 3 * HOUR)], **kwargs)


def test_filter_bookable_refuses_bad_arguments() -> None:
    slots = [Interval(START, START + HOUR)]
    with pytest.raises(ValueError, match=r"^now must be timezone-aware"):
        filter_bookable(slots, NAIVE, timedelta(0), HOUR)
    with pytest.raises(ValueError, match=r"minimum_notice must be a duration of zero or more"):
        filter_bookable(slots, START, -HOUR, HOUR)
    with pytest.raises(ValueError, match=r"horizon must be a positive duration"):
        filter_bookable(slots, START, timedelta(0), timedelta(0))
