"""Expansion work is bounded whatever the first day, COUNT or INTERVAL say.

A series is moved forward to the window before dateutil walks it; the move must never
change which dates are picked, which these tests check against dateutil walking the
whole series from its real first day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from dateutil import rrule as du
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from studyhall.scheduling.calendar.recurrence import (
    AvailabilityRule,
    ExpansionTooCostly,
    expand_availability,
    parse_rrule,
)
from studyhall.scheduling.calendar.rrule import selected_dates

NAMES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@st.composite
def counted_or_spaced_rules(draw: st.DrawFn) -> str:
    freq = draw(st.sampled_from(["DAILY", "WEEKLY", "MONTHLY", "YEARLY"]))
    parts = [f"FREQ={freq}"]
    interval = draw(st.integers(min_value=1, max_value=6))
    if interval > 1:
        parts.append(f"INTERVAL={interval}")
    if draw(st.booleans()):
        parts.append(f"COUNT={draw(st.integers(min_value=1, max_value=3000))}")
    if freq in {"DAILY", "WEEKLY"} and draw(st.booleans()):
        days = draw(st.sets(st.sampled_from(NAMES), min_size=1, max_size=4))
        parts.append("BYDAY=" + ",".join(sorted(days, key=NAMES.index)))
        if freq == "WEEKLY" and draw(st.booleans()):
            parts.append(f"BYSETPOS={draw(st.sampled_from([1, 2, -1, -2, 3]))}")
    if freq == "WEEKLY" and draw(st.booleans()):
        parts.append(f"WKST={draw(st.sampled_from(NAMES))}")
    if draw(st.booleans()):
        parts.append(f"BYMONTH={draw(st.integers(min_value=1, max_value=12))}")
    return ";".join(parts)


def walked_from_the_first_day(text: str, anchor: date, first: date, last: date) -> list[date]:
    series = du.rrulestr(text, dtstart=datetime.combine(anchor, time()))
    after, before = datetime.combine(first, time()), datetime.combine(last, time())
    return [moment.date() for moment in series.between(after, before, inc=True)]


@settings(max_examples=300, deadline=None)
@given(
    text=counted_or_spaced_rules(),
    anchor=st.dates(min_value=date(2000, 1, 1), max_value=date(2026, 6, 1)),
    days=st.integers(min_value=1, max_value=200),
)
def test_moving_the_series_forward_picks_the_same_dates(text: str, anchor: date, days: int) -> None:
    try:
        rule = parse_rrule(text)
    except ValueError as error:  # e.g. BYSETPOS=3 of a single weekday
        assume("never selects any date" not in str(error))
        raise
    first = date(2026, 7, 1)
    last = first + timedelta(days=days)
    if rule.anchor_free:
        anchor = first  # what expansion passes for rules that do not count from a first day
    expected = walked_from_the_first_day(text, anchor, first, last)
    assert list(selected_dates(rule, anchor, first, last)) == expected


def test_a_billion_daily_occurrences_from_year_one_expand_only_the_window() -> None:
    rule = AvailabilityRule(
        time(9), time(10), "UTC", "FREQ=DAILY;COUNT=1000000000", valid_from=date(1, 1, 1)
    )
    start = datetime(2026, 12, 7, tzinfo=UTC)
    result = expand_availability(rule, start, start + timedelta(days=730))
    assert [interval.start for interval in result] == [
        datetime(2026, 12, 7, 9, tzinfo=UTC) + timedelta(days=n) for n in range(730)
    ]


def test_a_count_used_up_long_ago_expands_to_nothing() -> None:
    # 10,000 daily occurrences from year one ended in year 28.
    rule = AvailabilityRule(
        time(9), time(10), "UTC", "FREQ=DAILY;INTERVAL=1;COUNT=10000", valid_from=date(1, 1, 1)
    )
    start = datetime(2026, 12, 7, tzinfo=UTC)
    assert expand_availability(rule, start, start + timedelta(days=30)) == []


@pytest.mark.parametrize(
    "text", ["FREQ=DAILY;BYDAY=MO;COUNT=1000000000", "FREQ=MONTHLY;COUNT=1000000000"]
)
def test_a_counted_series_that_cannot_be_moved_is_refused_not_walked(text: str) -> None:
    # Walking these from year one means counting two thousand years of occurrences.
    rule = AvailabilityRule(time(9), time(10), "UTC", text, valid_from=date(1, 1, 1))
    start = datetime(2026, 12, 7, tzinfo=UTC)
    with pytest.raises(ExpansionTooCostly, match="periods"):
        expand_availability(rule, start, start + timedelta(days=30))
