"""Exact UTC values for availability rules in zones that break naive time arithmetic."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from studyhall.scheduling.calendar.recurrence import (
    AvailabilityRule,
    Interval,
    cut_slots,
    expand_availability,
    weekly_rrule,
)
from tests.scheduling.tz_transitions import (
    REFERENCE,
    SCAN_END,
    scan_transitions,
    zones_with_transitions,
)

HOUR = timedelta(hours=1)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def daily(
    start: time,
    end: time,
    zone: str,
    valid_from: date | None = None,
    valid_until: date | None = None,
) -> AvailabilityRule:
    return AvailabilityRule(start, end, zone, "FREQ=DAILY", valid_from, valid_until)


def spans(intervals: list[Interval]) -> list[tuple[datetime, datetime]]:
    return [(interval.start, interval.end) for interval in intervals]


def starts(intervals: list[Interval]) -> list[datetime]:
    return [interval.start for interval in intervals]


def test_kathmandu_quarter_hour_offset() -> None:
    rule = daily(time(9), time(10), "Asia/Kathmandu")
    winter = expand_availability(rule, utc(2026, 12, 1), utc(2026, 12, 3))
    summer = expand_availability(rule, utc(2027, 6, 1), utc(2027, 6, 2))
    assert spans(winter) == [
        (utc(2026, 12, 1, 3, 15), utc(2026, 12, 1, 4, 15)),
        (utc(2026, 12, 2, 3, 15), utc(2026, 12, 2, 4, 15)),
    ]
    assert spans(summer) == [(utc(2027, 6, 1, 3, 15), utc(2027, 6, 1, 4, 15))]
    assert starts(cut_slots(winter, timedelta(minutes=30))) == [
        utc(2026, 12, 1, 3, 15),
        utc(2026, 12, 1, 3, 45),
        utc(2026, 12, 2, 3, 15),
        utc(2026, 12, 2, 3, 45),
    ]


def test_lord_howe_half_hour_dst_at_nine() -> None:
    rule = daily(time(9), time(10), "Australia/Lord_Howe")
    # DST (+11:00) ends 2027-04-04 02:00 -> 01:30 (+10:30); starts 2027-10-03 02:00 -> 02:30.
    april = expand_availability(rule, utc(2027, 4, 2), utc(2027, 4, 5))
    october = expand_availability(rule, utc(2027, 10, 1), utc(2027, 10, 4))
    assert starts(april) == [
        utc(2027, 4, 2, 22, 0),  # 3 April 09:00 +11:00
        utc(2027, 4, 3, 22, 30),  # 4 April 09:00 +10:30
        utc(2027, 4, 4, 22, 30),
    ]
    assert starts(october) == [
        utc(2027, 10, 1, 22, 30),  # 2 October 09:00 +10:30
        utc(2027, 10, 2, 22, 0),  # 3 October 09:00 +11:00
        utc(2027, 10, 3, 22, 0),
    ]


def test_lord_howe_gap_and_repeat() -> None:
    zone = ZoneInfo("Australia/Lord_Howe")
    # 02:15-03:00 on 3 October: 02:15 does not exist and becomes 02:45 (+11:00).
    gap = daily(time(2, 15), time(3), "Australia/Lord_Howe")
    assert spans(expand_availability(gap, utc(2027, 10, 2, 12), utc(2027, 10, 3, 12))) == [
        (utc(2027, 10, 2, 15, 45), utc(2027, 10, 2, 16, 0))
    ]
    # 01:15-02:15 on 4 April: 01:30-02:00 happens twice, so the window is 90 real minutes,
    # from 01:15 (+11:00) to 02:15 (+10:30), and the repeated half hour is offered twice.
    repeat = daily(time(1, 15), time(2, 15), "Australia/Lord_Howe")
    parts = expand_availability(repeat, utc(2027, 4, 3, 12), utc(2027, 4, 4, 12))
    assert spans(parts) == [(utc(2027, 4, 3, 14, 15), utc(2027, 4, 3, 15, 45))]
    walls = [s.start.astimezone(zone).time() for s in cut_slots(parts, timedelta(minutes=15))]
    assert walls == [time(1, 15), time(1, 30), time(1, 45), time(1, 30), time(1, 45), time(2, 0)]


def test_kiritimati_plus_fourteen_monday_is_sunday_in_utc() -> None:
    rule = AvailabilityRule(time(9), time(11), "Pacific/Kiritimati", weekly_rrule([1]))
    result = expand_availability(rule, utc(2026, 12, 27), utc(2027, 1, 11))
    assert spans(result) == [
        (utc(2026, 12, 27, 19), utc(2026, 12, 27, 21)),
        (utc(2027, 1, 3, 19), utc(2027, 1, 3, 21)),
        (utc(2027, 1, 10, 19), utc(2027, 1, 10, 21)),
    ]
    assert {interval.start.weekday() for interval in result} == {6}  # Sunday in UTC
    zone = ZoneInfo("Pacific/Kiritimati")
    assert {interval.start.astimezone(zone).weekday() for interval in result} == {0}


def test_kiritimati_new_year_and_valid_dates_are_local() -> None:
    rule = daily(
        time(9),
        time(10),
        "Pacific/Kiritimati",
        valid_from=date(2027, 1, 1),
        valid_until=date(2027, 1, 2),
    )
    result = expand_availability(rule, utc(2026, 12, 25), utc(2027, 1, 10))
    assert starts(result) == [utc(2026, 12, 31, 19), utc(2027, 1, 1, 19)]


def test_sao_paulo_stays_minus_three_all_year() -> None:
    assert "America/Sao_Paulo" not in zones_with_transitions()
    assert scan_transitions("America/Sao_Paulo", REFERENCE, SCAN_END) == []
    rule = daily(time(9), time(10), "America/Sao_Paulo")
    result = expand_availability(rule, REFERENCE, SCAN_END)
    assert len(result) == 731
    assert {(interval.start.hour, interval.start.minute) for interval in result} == {(12, 0)}
    zone = ZoneInfo("America/Sao_Paulo")
    assert {interval.start.astimezone(zone).utcoffset() for interval in result} == {
        timedelta(hours=-3)
    }
    # January used to be summer time (-02:00) until 2019: the offset is the one at each
    # occurrence's own date, never today's.
    assert starts(expand_availability(rule, utc(2018, 1, 15), utc(2018, 1, 16))) == [
        utc(2018, 1, 15, 11)
    ]
    assert starts(expand_availability(rule, utc(2027, 1, 15), utc(2027, 1, 16))) == [
        utc(2027, 1, 15, 12)
    ]


def test_copenhagen_nine_o_clock_on_both_sides_of_each_change() -> None:
    rule = daily(time(9), time(12), "Europe/Copenhagen")
    autumn = expand_availability(rule, utc(2026, 10, 23), utc(2026, 10, 27))
    spring = expand_availability(rule, utc(2027, 3, 26), utc(2027, 3, 30))
    assert spans(autumn) == [
        (utc(2026, 10, 23, 7), utc(2026, 10, 23, 10)),
        (utc(2026, 10, 24, 7), utc(2026, 10, 24, 10)),
        (utc(2026, 10, 25, 8), utc(2026, 10, 25, 11)),  # CET from 25 October
        (utc(2026, 10, 26, 8), utc(2026, 10, 26, 11)),
    ]
    assert spans(spring) == [
        (utc(2027, 3, 26, 8), utc(2027, 3, 26, 11)),
        (utc(2027, 3, 27, 8), utc(2027, 3, 27, 11)),
        (utc(2027, 3, 28, 7), utc(2027, 3, 28, 10)),  # CEST from 28 March
        (utc(2027, 3, 29, 7), utc(2027, 3, 29, 10)),
    ]
    zone = ZoneInfo("Europe/Copenhagen")
    slots = cut_slots(autumn + spring, HOUR)
    assert len(slots) == 24
    assert {slot.start.astimezone(zone).time() for slot in slots} == {
        time(9),
        time(10),
        time(11),
    }


def test_new_york_gap_at_half_past_two() -> None:
    rule = daily(time(2, 30), time(4, 30), "America/New_York")
    result = expand_availability(rule, utc(2027, 3, 13), utc(2027, 3, 16))
    assert spans(result) == [
        (utc(2027, 3, 13, 7, 30), utc(2027, 3, 13, 9, 30)),  # 02:30-04:30 EST
        (utc(2027, 3, 14, 7, 30), utc(2027, 3, 14, 8, 30)),  # 02:30 -> 03:30 EDT
        (utc(2027, 3, 15, 6, 30), utc(2027, 3, 15, 8, 30)),  # 02:30-04:30 EDT
    ]
    assert starts(cut_slots(result, HOUR)) == [
        utc(2027, 3, 13, 7, 30),
        utc(2027, 3, 13, 8, 30),
        utc(2027, 3, 14, 7, 30),
        utc(2027, 3, 15, 6, 30),
        utc(2027, 3, 15, 7, 30),
    ]


def test_new_york_window_wholly_inside_the_gap_yields_nothing_that_day() -> None:
    rule = daily(time(2), time(3), "America/New_York")
    result = expand_availability(rule, utc(2027, 3, 13), utc(2027, 3, 16))
    assert spans(result) == [
        (utc(2027, 3, 13, 7), utc(2027, 3, 13, 8)),
        (utc(2027, 3, 15, 6), utc(2027, 3, 15, 7)),
    ]


def test_new_york_ambiguous_half_past_one() -> None:
    zone = ZoneInfo("America/New_York")
    rule = daily(time(1, 30), time(2, 30), "America/New_York")
    result = expand_availability(rule, utc(2026, 10, 31), utc(2026, 11, 3))
    assert spans(result) == [
        (utc(2026, 10, 31, 5, 30), utc(2026, 10, 31, 6, 30)),
        (utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 7, 30)),  # 01:30 EDT to 02:30 EST
        (utc(2026, 11, 2, 6, 30), utc(2026, 11, 2, 7, 30)),
    ]
    slots = cut_slots(result, timedelta(minutes=30))
    labels = [slot.start.astimezone(zone).strftime("%m-%d %H:%M %Z") for slot in slots]
    assert labels == [
        "10-31 01:30 EDT",
        "10-31 02:00 EDT",
        "11-01 01:30 EDT",
        "11-01 01:00 EST",
        "11-01 01:30 EST",
        "11-01 02:00 EST",
        "11-02 01:30 EST",
        "11-02 02:00 EST",
    ]


def test_new_york_repeated_hour_is_two_real_hours() -> None:
    # 01:00 (first occurrence, EDT) to 02:00 EST is two hours of real time: two slots.
    rule = daily(time(1), time(2), "America/New_York")
    result = expand_availability(rule, utc(2026, 11, 1), utc(2026, 11, 2))
    assert spans(result) == [(utc(2026, 11, 1, 5), utc(2026, 11, 1, 7))]
    assert spans(cut_slots(result, HOUR)) == [
        (utc(2026, 11, 1, 5), utc(2026, 11, 1, 6)),
        (utc(2026, 11, 1, 6), utc(2026, 11, 1, 7)),
    ]


def test_new_york_sixty_minute_slot_across_the_fall_back_is_kept() -> None:
    # A weekly Sunday 01:30-02:30 window on the fall-back Sunday: the 60-minute slot from
    # 01:30 EDT ends at 01:30 EST, inside the window's real time, so it is offered.
    rule = AvailabilityRule(time(1, 30), time(2, 30), "America/New_York", weekly_rrule([0]))
    result = expand_availability(rule, utc(2027, 11, 6), utc(2027, 11, 8))
    assert spans(cut_slots(result, HOUR)) == [
        (utc(2027, 11, 7, 5, 30), utc(2027, 11, 7, 6, 30)),
        (utc(2027, 11, 7, 6, 30), utc(2027, 11, 7, 7, 30)),
    ]


def test_overnight_window_runs_to_the_next_local_day() -> None:
    rule = daily(time(22), time(2), "Europe/Copenhagen")
    result = expand_availability(rule, utc(2026, 10, 23), utc(2026, 10, 26))
    assert spans(result) == [
        (utc(2026, 10, 23, 20), utc(2026, 10, 24, 0)),
        # 22:00 CEST to 02:00: the clocks go back at 03:00, after the window ends.
        (utc(2026, 10, 24, 20), utc(2026, 10, 25, 0)),
        (utc(2026, 10, 25, 21), utc(2026, 10, 26, 1)),
    ]


def test_seed_001_weekday_windows() -> None:
    # day_of_week 1 = Monday, 3 = Wednesday in weekday windows.
    assert weekly_rrule([3, 1, 3]) == "FREQ=WEEKLY;BYDAY=MO,WE"
    assert weekly_rrule([0, 6]) == "FREQ=WEEKLY;BYDAY=SA,SU"
    rule = AvailabilityRule(time(17), time(19), "Europe/Copenhagen", weekly_rrule([1, 3]))
    result = expand_availability(rule, utc(2027, 3, 22), utc(2027, 4, 5))
    assert starts(result) == [
        utc(2027, 3, 22, 16),  # Monday, CET
        utc(2027, 3, 24, 16),  # Wednesday, CET
        utc(2027, 3, 29, 15),  # Monday, CEST
        utc(2027, 3, 31, 15),  # Wednesday, CEST
    ]


def test_count_and_interval_count_from_valid_from() -> None:
    rule = AvailabilityRule(
        time(9),
        time(10),
        "Europe/Copenhagen",
        "FREQ=WEEKLY;INTERVAL=2;COUNT=3",
        valid_from=date(2027, 3, 22),  # a Monday: every other Monday, three times
    )
    # The same three occurrences whichever window asks.
    expected = [utc(2027, 3, 22, 8), utc(2027, 4, 5, 7), utc(2027, 4, 19, 7)]
    assert starts(expand_availability(rule, utc(2027, 1, 1), utc(2028, 1, 1))) == expected
    assert starts(expand_availability(rule, utc(2027, 4, 1), utc(2028, 1, 1))) == expected[1:]


def test_until_forms() -> None:
    zone = "America/New_York"
    window = (utc(2027, 3, 1), utc(2027, 4, 1))
    by_date = daily(time(9), time(10), zone, valid_from=date(2027, 3, 28))
    assert len(expand_availability(by_date, *window)) == 4  # 28, 29, 30, 31 March
    for until, count in [
        ("20270329", 2),  # through that local day
        ("20270329T090000", 2),  # local wall time, inclusive
        ("20270329T085959", 1),
        ("20270329T130000Z", 2),  # UTC: 09:00 EDT is 13:00Z
        ("20270329T125959Z", 1),
    ]:
        rule = AvailabilityRule(
            time(9), time(10), zone, f"FREQ=DAILY;UNTIL={until}", valid_from=date(2027, 3, 28)
        )
        assert len(expand_availability(rule, *window)) == count, until
