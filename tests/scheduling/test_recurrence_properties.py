"""Properties of availability expansion over every IANA zone whose offset changes in the
24 months after 2026-11-22 (found by scanning utcoffset, see tz_transitions).

The expected values come from an oracle built on the scanned offsets and on zoneinfo's
UTC -> local conversion only (which is unambiguous), never from the code under test:

* a wall time that some instant shows maps to the first such instant;
* a wall time no instant shows (a gap) maps to wall - offset before the gap (RFC 5545);
* a window is the elapsed time between its resolved start and end (a repeated span
  inside it is real time and is kept).
"""

from __future__ import annotations

import calendar
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
    Transition,
    all_transitions,
    zones_with_transitions,
)

Span = tuple[datetime, datetime]
DAY = timedelta(days=1)
MINUTE = timedelta(minutes=1)
DST_ZONES = sorted(zones_with_transitions())
TRANSITIONS = all_transitions()
FALL_BACKS = [t for t in TRANSITIONS if not t.gap]


# --- oracle -----------------------------------------------------------------------------


def shows(instant: datetime, zone: ZoneInfo) -> datetime:
    """The naive wall time `instant` shows in `zone` (zoneinfo's UTC -> local, unambiguous)."""
    local = instant.astimezone(zone)
    # The constructor, not replace(): several times faster, and this runs ~10^6 times.
    return datetime(local.year, local.month, local.day, local.hour, local.minute, local.second)


def oracle_instant(wall: datetime, zone: ZoneInfo, transitions: tuple[Transition, ...]) -> datetime:
    offsets = {t.before for t in transitions} | {t.after for t in transitions}
    candidates = [(wall - offset).replace(tzinfo=UTC) for offset in offsets]
    showing = sorted(instant for instant in candidates if shows(instant, zone) == wall)
    if showing:
        return showing[0]
    for transition in transitions:
        if transition.gap and transition.local_before <= wall < transition.local_after:
            return (wall - transition.before).replace(tzinfo=UTC)
    raise AssertionError(f"{wall} shows nowhere in {zone} and is in no scanned gap")


def oracle_parts(
    day: date, start: time, end: time, zone: ZoneInfo, transitions: tuple[Transition, ...]
) -> list[Span]:
    low = oracle_instant(datetime.combine(day, start), zone, transitions)
    end_day = day + DAY if end < start else day
    high = oracle_instant(datetime.combine(end_day, end), zone, transitions)
    if high <= low:
        return []
    return [(low, high)]


def oracle_expansion(start: time, end: time, zone_name: str, window: Span) -> list[Span]:
    zone = ZoneInfo(zone_name)
    transitions = zones_with_transitions()[zone_name]
    day, last = shows(window[0], zone).date() - DAY, shows(window[1], zone).date() + DAY
    expected: list[Span] = []
    while day <= last:
        parts = oracle_parts(day, start, end, zone, transitions)
        if parts and window[0] <= parts[0][0] < window[1]:
            expected.extend(parts)
        day += DAY
    return sorted(expected)


def spans(intervals: list[Interval]) -> list[Span]:
    return [(interval.start, interval.end) for interval in intervals]


# --- every zone, every day for 24 months: 09:00-12:00 stays 09:00-12:00 -----------------


@pytest.mark.parametrize("zone_name", DST_ZONES)
def test_daily_nine_to_twelve_stays_local_in_every_dst_zone(zone_name: str) -> None:
    zone = ZoneInfo(zone_name)
    rule = AvailabilityRule(time(9), time(12), zone_name, "FREQ=DAILY")

    result = expand_availability(rule, REFERENCE, SCAN_END)

    assert spans(result) == oracle_expansion(time(9), time(12), zone_name, (REFERENCE, SCAN_END))
    local_days = [shows(interval.start, zone).date() for interval in result]
    assert len(result) in {730, 731, 732}  # one per local day; the date line moves the ends
    assert local_days == [local_days[0] + DAY * n for n in range(len(result))]
    assert {shows(interval.start, zone).time() for interval in result} == {time(9)}
    assert {shows(interval.end, zone).time() for interval in result} == {time(12)}

    slots = cut_slots(result, timedelta(hours=1))
    assert len({slot.start for slot in slots}) == len(slots) == 3 * len(result)
    labels_by_day: defaultdict[date, list[time]] = defaultdict(list)
    for slot in slots:
        label = shows(slot.start, zone)
        labels_by_day[label.date()].append(label.time())
    assert set(map(tuple, labels_by_day.values())) == {(time(9), time(10), time(11))}


# --- windows placed right on top of transitions ----------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    transition=st.sampled_from(TRANSITIONS),
    offset_minutes=st.integers(min_value=-240, max_value=240),
    length_minutes=st.integers(min_value=1, max_value=40).map(lambda n: n * 15),
)
def test_windows_across_transitions_follow_the_documented_policy(
    transition: Transition, offset_minutes: int, length_minutes: int
) -> None:
    wall_start = transition.local_before + timedelta(minutes=offset_minutes)
    start = wall_start.time()
    end = (wall_start + timedelta(minutes=length_minutes)).time()
    rule = AvailabilityRule(start, end, transition.zone, "FREQ=DAILY")
    window = (transition.at - 2 * DAY, transition.at + 2 * DAY)

    result = expand_availability(rule, *window)

    # Exactly the oracle: nothing lost (except a window wholly inside a gap, which the
    # oracle also drops), nothing duplicated, every start/end under the gap and
    # first-occurrence rules.
    assert spans(result) == oracle_expansion(start, end, transition.zone, window)
    assert len({interval.start for interval in result}) == len(result)
    # No instant is offered twice, and every slot is 15 real minutes.
    slots = cut_slots(result, timedelta(minutes=15))
    assert max(Counter(slot.start for slot in slots).values(), default=1) == 1
    assert {slot.end - slot.start for slot in slots} <= {timedelta(minutes=15)}


@settings(max_examples=200, deadline=None)
@given(transition=st.sampled_from(FALL_BACKS), data=st.data())
def test_a_window_in_the_repeat_starts_at_the_first_pass(
    transition: Transition, data: st.DataObject
) -> None:
    repeat = transition.before - transition.after
    step = data.draw(st.integers(min_value=0, max_value=repeat // MINUTE - 15), "minutes in")
    wall = transition.local_after + timedelta(minutes=step)
    rule = AvailabilityRule(
        wall.time(), (wall + timedelta(minutes=15)).time(), transition.zone, "FREQ=DAILY"
    )
    window = (transition.at - DAY / 2, transition.at + DAY / 2)

    slots = cut_slots(expand_availability(rule, *window), timedelta(minutes=15))

    # Both ends take their first occurrence; an end at the repeat's last wall time exists
    # only once, after the change, so that window also holds the whole repeated span.
    first_pass = (wall - transition.before).replace(tzinfo=UTC)
    end_wall = wall + timedelta(minutes=15)
    end_offset = transition.after if end_wall >= transition.local_before else transition.before
    end = (end_wall - end_offset).replace(tzinfo=UTC)
    quarter = timedelta(minutes=15)
    count = (end - first_pass) // quarter
    assert spans(slots) == [
        (first_pass + n * quarter, first_pass + (n + 1) * quarter) for n in range(count)
    ]


@settings(max_examples=100, deadline=None)
@given(
    zone_name=st.sampled_from(DST_ZONES),
    start_minutes=st.integers(min_value=0, max_value=24 * 60 - 1),
    length_minutes=st.integers(min_value=15, max_value=23 * 60),
    split_hours=st.integers(min_value=1, max_value=60 * 24 - 1),
)
def test_consecutive_windows_tile_without_repeats_or_losses(
    zone_name: str, start_minutes: int, length_minutes: int, split_hours: int
) -> None:
    start = time(start_minutes // 60, start_minutes % 60)
    end_minutes = (start_minutes + length_minutes) % (24 * 60)
    end = time(end_minutes // 60, end_minutes % 60)
    rule = AvailabilityRule(start, end, zone_name, "FREQ=DAILY")
    first, last = REFERENCE + 100 * DAY, REFERENCE + 160 * DAY
    split = first + timedelta(hours=split_hours)

    whole = expand_availability(rule, first, last)
    parts = expand_availability(rule, first, split) + expand_availability(rule, split, last)

    assert parts == whole


@settings(max_examples=100, deadline=None)
@given(
    transition=st.sampled_from(TRANSITIONS),
    days=st.sets(st.integers(min_value=0, max_value=6), min_size=1),
)
def test_weekly_rules_keep_their_local_weekdays(transition: Transition, days: set[int]) -> None:
    zone = ZoneInfo(transition.zone)
    rule = AvailabilityRule(time(10), time(11), transition.zone, weekly_rrule(days))
    window = (transition.at - 21 * DAY, transition.at + 21 * DAY)

    result = expand_availability(rule, *window)

    iso_weekdays = {(day - 1) % 7 for day in days}  # weekday windows: 0 = Sunday
    expected = oracle_expansion(time(10), time(11), transition.zone, window)
    expected = [span for span in expected if shows(span[0], zone).weekday() in iso_weekdays]
    assert spans(result) == expected
    assert {shows(interval.start, zone).time() for interval in result} == {time(10)}


def matches_daily_filters(
    day: date, months: set[int], month_days: set[int], weekdays: set[int]
) -> bool:
    """RFC 5545 FREQ=DAILY with BYMONTH / BYMONTHDAY / BYDAY: each part filters days."""
    month_length = calendar.monthrange(day.year, day.month)[1]
    from_end = day.day - month_length - 1  # -1 = last day of the month
    return (
        (not months or day.month in months)
        and (not month_days or bool({day.day, from_end} & month_days))
        and (not weekdays or day.weekday() in weekdays)
    )


@settings(max_examples=60, deadline=None)
@given(
    months=st.sets(st.integers(min_value=1, max_value=12), max_size=3),
    month_days=st.sets(st.integers(min_value=-31, max_value=31).filter(bool), max_size=3),
    weekdays=st.sets(st.integers(min_value=0, max_value=6), max_size=3),
)
def test_daily_rules_select_exactly_the_filtered_days(
    months: set[int], month_days: set[int], weekdays: set[int]
) -> None:
    # Anchor-free DAILY rules are walked as YEARLY for speed: the days must not change.
    names = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
    parts = ["FREQ=DAILY"]
    if months:
        parts.append("BYMONTH=" + ",".join(map(str, sorted(months))))
    if month_days:
        parts.append("BYMONTHDAY=" + ",".join(map(str, sorted(month_days))))
    if weekdays:
        parts.append("BYDAY=" + ",".join(names[day] for day in sorted(weekdays)))
    text = ";".join(parts)
    try:
        rule = AvailabilityRule(time(9), time(10), "UTC", text)
    except ValueError as error:
        assert "never selects any date" in str(error)
        # Between 1901 and 2099 weekdays and leap years repeat every 28 years, so two such
        # cycles hold every combination of month length, month day and weekday.
        day = date(2000, 1, 1)
        while day < date(2056, 1, 1):
            assert not matches_daily_filters(day, months, month_days, weekdays), day
            day += DAY
        return
    first, last = date(2027, 6, 1), date(2028, 6, 1)  # holds 29 February 2028
    window = (datetime(2027, 6, 1, tzinfo=UTC), datetime(2028, 6, 1, tzinfo=UTC))

    got = [interval.start.date() for interval in expand_availability(rule, *window)]

    expected = [
        first + DAY * n
        for n in range((last - first).days)
        if matches_daily_filters(first + DAY * n, months, month_days, weekdays)
    ]
    assert got == expected
