"""Slots around every offset change in the next 24 months, against a zoneinfo-only oracle.

The oracle states the documented policy with nothing but the standard library: a window's
wall-clock start and end each become an instant through ``datetime(..., tzinfo=zone)``
(PEP 495 ``fold=0``: a time in a gap is read with the offset before the gap, a repeated
time is its first occurrence), and slots tile the elapsed time between the two from the
start. The zones come from scanning zoneinfo offsets (`tz_transitions`), not from the
service. Every zone gets windows inside gaps, inside repeats, across the change, and
ordinary ones a day away from it.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from studyhall.scheduling.calendar.recurrence import (
    AvailabilityRule,
    cut_slots,
    expand_availability,
)
from tests.scheduling.tz_transitions import Transition, zones_with_transitions

Slot = tuple[datetime, datetime]
MINUTE = timedelta(minutes=1)
DURATIONS = (15, 30, 60)
# Window starts relative to the wall time where the change begins, and window lengths:
# together they put windows wholly inside the gap or repeat, across it, and next to it.
START_OFFSETS = (-90, -30, -15, 0, 15, 30, 45)
LENGTHS = (15, 30, 45, 60, 90, 120, 180)


def oracle_instant(wall: datetime, zone: ZoneInfo) -> datetime:
    return datetime.combine(wall.date(), wall.time(), tzinfo=zone).astimezone(UTC)


def oracle_slots(
    wall_start: datetime, wall_end: datetime, zone: ZoneInfo, minutes: int
) -> list[Slot]:
    start, end = oracle_instant(wall_start, zone), oracle_instant(wall_end, zone)
    step = timedelta(minutes=minutes)
    slots: list[Slot] = []
    while start + step <= end:
        slots.append((start, start + step))
        start += step
    return slots


def service_slots(
    wall_start: datetime, wall_end: datetime, zone_name: str, minutes: int
) -> list[Slot]:
    # One occurrence on the start's day, through a window wide enough to hold it whatever
    # the zone's offset.
    rule = AvailabilityRule(
        wall_start.time(),
        wall_end.time(),
        zone_name,
        "FREQ=DAILY;COUNT=1",
        valid_from=wall_start.date(),
    )
    around = datetime.combine(wall_start.date(), time(), tzinfo=UTC)
    intervals = expand_availability(rule, around - timedelta(days=2), around + timedelta(days=3))
    slots = cut_slots(intervals, timedelta(minutes=minutes))
    return [(slot.start, slot.end) for slot in slots]


def windows(transition: Transition) -> list[tuple[datetime, datetime]]:
    found: list[tuple[datetime, datetime]] = []
    for offset in START_OFFSETS:
        start = transition.local_before + offset * MINUTE
        found.extend((start, start + length * MINUTE) for length in LENGTHS)
    # Ordinary windows the day before and after the change.
    for day in (transition.local_before.date() - timedelta(days=1),
                transition.local_before.date() + timedelta(days=1)):  # fmt: skip
        found.append((datetime.combine(day, time(9)), datetime.combine(day, time(12))))
    return found


def compare(expected: list[Slot], got: list[Slot]) -> Counter[str]:
    problems: Counter[str] = Counter()
    got_set, expected_set = set(got), set(expected)
    problems["missing"] += len(expected_set - got_set)
    problems["extra"] += len(got_set - expected_set)
    problems["duplicate"] += len(got) - len(got_set)
    # A slot whose start is right but whose end (so its instant span) differs.
    expected_ends = dict(expected)
    problems["wrong_instant"] += sum(
        1 for start, end in got if start in expected_ends and expected_ends[start] != end
    )
    return problems


ZONES = sorted(zones_with_transitions())


def test_the_sweep_covers_about_two_hundred_zones_with_gaps_and_repeats() -> None:
    transitions = [t for name in ZONES for t in zones_with_transitions()[name]]
    assert len(ZONES) > 150
    assert any(t.gap for t in transitions) and any(not t.gap for t in transitions)


@pytest.mark.parametrize("zone_name", ZONES)
def test_slots_around_every_change_match_the_oracle(zone_name: str) -> None:
    zone = ZoneInfo(zone_name)
    totals: Counter[str] = Counter()
    examples: list[str] = []
    for transition in zones_with_transitions()[zone_name]:
        for wall_start, wall_end in windows(transition):
            for minutes in DURATIONS:
                expected = oracle_slots(wall_start, wall_end, zone, minutes)
                got = service_slots(wall_start, wall_end, zone_name, minutes)
                problems = compare(expected, got)
                if sum(problems.values()) and len(examples) < 3:
                    window = f"{wall_start}-{wall_end.time()} {minutes} min"
                    examples.append(f"{window}: {got} != {expected}")
                totals.update(problems)
    assert +totals == Counter(), examples


def test_new_york_fall_back_keeps_the_sixty_minute_slot() -> None:
    # The case that was lost: weekly Sunday 01:30-02:30 on 2027-11-07, 60 minutes.
    zone = ZoneInfo("America/New_York")
    expected = oracle_slots(datetime(2027, 11, 7, 1, 30), datetime(2027, 11, 7, 2, 30), zone, 60)
    assert expected == [
        (datetime(2027, 11, 7, 5, 30, tzinfo=UTC), datetime(2027, 11, 7, 6, 30, tzinfo=UTC)),
        (datetime(2027, 11, 7, 6, 30, tzinfo=UTC), datetime(2027, 11, 7, 7, 30, tzinfo=UTC)),
    ]
    rule = AvailabilityRule(time(1, 30), time(2, 30), "America/New_York", "FREQ=WEEKLY;BYDAY=SU")
    window = (datetime(2027, 11, 6, tzinfo=UTC), datetime(2027, 11, 8, tzinfo=UTC))
    got = cut_slots(expand_availability(rule, *window), timedelta(minutes=60))
    assert [(slot.start, slot.end) for slot in got] == expected


def test_new_york_gap_windows_follow_the_same_rule() -> None:
    # 2027-03-14, clocks jump 02:00 -> 03:00: 02:00-02:30 is read as 03:00-03:30 EDT; in
    # 02:30-03:00 the start (03:30 EDT) is after the end (03:00 EDT), so there is no time.
    def slots(start: time, end: time) -> list[Slot]:
        return service_slots(
            datetime.combine(date(2027, 3, 14), start),
            datetime.combine(date(2027, 3, 14), end),
            "America/New_York",
            15,
        )

    assert slots(time(2), time(2, 30)) == [
        (datetime(2027, 3, 14, 7, tzinfo=UTC), datetime(2027, 3, 14, 7, 15, tzinfo=UTC)),
        (datetime(2027, 3, 14, 7, 15, tzinfo=UTC), datetime(2027, 3, 14, 7, 30, tzinfo=UTC)),
    ]
    assert slots(time(2, 30), time(3)) == []
    # 01:00-04:00 holds two real hours: 01:00-02:00 EST and 03:00-04:00 EDT, all tiled.
    assert len(slots(time(1), time(4))) == 8
