"""subtract_time_off, cut_slots and filter_bookable: pure UTC interval arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from studyhall.scheduling.calendar.recurrence import (
    Interval,
    cut_slots,
    filter_bookable,
    subtract_time_off,
)

BASE = datetime(2027, 3, 1, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)


def at(hours: float) -> datetime:
    return BASE + timedelta(hours=hours)


def span(start: float, end: float) -> Interval:
    return Interval(at(start), at(end))


def hours_of(intervals: list[Interval]) -> list[tuple[float, float]]:
    return [((i.start - BASE) / HOUR, (i.end - BASE) / HOUR) for i in intervals]


# --- cut_slots --------------------------------------------------------------------------


def test_slots_fill_the_window_from_its_start() -> None:
    assert hours_of(cut_slots([span(9, 12)], HOUR)) == [(9, 10), (10, 11), (11, 12)]


def test_step_shorter_than_duration_gives_overlapping_starts() -> None:
    slots = cut_slots([span(9, 12)], HOUR, step=timedelta(minutes=30))
    assert hours_of(slots) == [(9, 10), (9.5, 10.5), (10, 11), (10.5, 11.5), (11, 12)]


def test_a_slot_that_does_not_fit_whole_is_not_offered() -> None:
    assert hours_of(cut_slots([span(9, 11.75)], HOUR)) == [(9, 10), (10, 11)]
    assert cut_slots([span(9, 9.75)], HOUR) == []


def test_busy_time_removes_overlapping_slots_but_touching_is_fine() -> None:
    slots = cut_slots([span(9, 13)], HOUR, busy=[span(10, 11)])
    assert hours_of(slots) == [(9, 10), (11, 12), (12, 13)]


def test_slots_stay_aligned_to_the_availability_start_around_time_off() -> None:
    # Time off until 09:10 does not move later slots to 10:10: the 09:00 one is lost.
    slots = cut_slots([span(9, 12)], HOUR, busy=[Interval(at(8), at(9) + 10 * MINUTE)])
    assert hours_of(slots) == [(10, 11), (11, 12)]


def test_buffers_keep_distance_from_busy_time() -> None:
    booking = span(11, 12)
    before = cut_slots([span(9, 14)], HOUR, buffer_after=timedelta(minutes=15), busy=[booking])
    assert hours_of(before) == [(9, 10), (12, 13), (13, 14)]
    after = cut_slots([span(9, 14)], HOUR, buffer_before=timedelta(minutes=15), busy=[booking])
    assert hours_of(after) == [(9, 10), (10, 11), (13, 14)]


def test_buffers_apply_to_time_off_outside_the_window_too() -> None:
    slots = cut_slots([span(9, 11)], HOUR, buffer_before=timedelta(minutes=30), busy=[span(8, 9)])
    assert hours_of(slots) == [(10, 11)]


def test_overlapping_availability_never_duplicates_a_start() -> None:
    slots = cut_slots([span(9, 12), span(10, 13), span(9, 11)], HOUR)
    assert hours_of(slots) == [(9, 10), (10, 11), (11, 12), (12, 13)]


def test_empty_inputs() -> None:
    assert cut_slots([], HOUR) == []
    assert subtract_time_off([], [span(1, 2)]) == []
    assert filter_bookable([], BASE, timedelta(0), HOUR) == []


# --- subtract_time_off ------------------------------------------------------------------


def test_subtract_time_off_cuts_holes_and_trims_ends() -> None:
    result = subtract_time_off(
        [span(9, 17), span(20, 22)],
        [span(8, 10), span(12, 13), span(12.5, 14), span(16, 18), span(21, 21.5)],
    )
    assert hours_of(result) == [(10, 12), (14, 16), (20, 21), (21.5, 22)]


def test_subtract_time_off_covering_everything_leaves_nothing() -> None:
    assert subtract_time_off([span(9, 10)], [span(8, 11)]) == []
    assert hours_of(subtract_time_off([span(9, 10)], [])) == [(9, 10)]


# --- filter_bookable --------------------------------------------------------------------


def test_filter_bookable_applies_notice_and_horizon() -> None:
    slots = [span(h, h + 1) for h in range(0, 48)]
    bookable = filter_bookable(
        slots, now=at(10) - MINUTE, minimum_notice=timedelta(hours=2), horizon=timedelta(days=1)
    )
    # Earliest start 11:59 -> 12:00 is the first; horizon ends 09:59 next day -> 09:00 last.
    assert hours_of(bookable)[0] == (12, 13)
    assert hours_of(bookable)[-1] == (33, 34)
    assert len(bookable) == 22


def test_filter_bookable_bounds_are_inclusive_then_exclusive() -> None:
    slots = [span(2, 3), span(5, 6)]
    result = filter_bookable(slots, at(0), timedelta(hours=2), timedelta(hours=5))
    assert hours_of(result) == [(2, 3)]


def test_filter_bookable_accepts_any_aware_now() -> None:
    now = at(0).astimezone(ZoneInfo("Asia/Kathmandu"))
    assert hours_of(filter_bookable([span(1, 2)], now, timedelta(0), HOUR * 2)) == [(1, 2)]


# --- properties against a brute force over 5-minute ticks -------------------------------

# Every generated boundary is a multiple of 5 minutes, so sets of 5-minute ticks describe
# the intervals exactly at a fifth of the cost of minute sets.
TICK = timedelta(minutes=5)
ticks = st.integers(min_value=0, max_value=24 * 12)
quarters = st.integers(min_value=1, max_value=8).map(lambda n: timedelta(minutes=15 * n))


@st.composite
def intervals(draw: st.DrawFn, max_size: int = 4) -> list[Interval]:
    result = []
    for _ in range(draw(st.integers(min_value=0, max_value=max_size))):
        start = draw(ticks)
        length = draw(st.integers(min_value=1, max_value=8 * 12))
        result.append(Interval(BASE + start * TICK, BASE + (start + length) * TICK))
    return result


def tick_set(items: list[Interval]) -> set[datetime]:
    covered: set[datetime] = set()
    for item in items:
        instant = item.start
        while instant < item.end:
            covered.add(instant)
            instant += TICK
    return covered


@settings(max_examples=200, deadline=None)
@given(availability=intervals(), time_off=intervals())
def test_subtract_time_off_matches_tick_sets(
    availability: list[Interval], time_off: list[Interval]
) -> None:
    result = subtract_time_off(availability, time_off)
    assert tick_set(result) == tick_set(availability) - tick_set(time_off)
    assert result == sorted(set(result))
    for part in result:
        assert any(a.start <= part.start and part.end <= a.end for a in availability)


@settings(max_examples=200, deadline=None)
@given(
    availability=intervals(),
    busy=intervals(),
    duration=quarters,
    step=st.one_of(st.none(), quarters),
    buffer_before=st.integers(min_value=0, max_value=12).map(lambda n: n * TICK),
    buffer_after=st.integers(min_value=0, max_value=12).map(lambda n: n * TICK),
)
def test_cut_slots_matches_brute_force(
    availability: list[Interval],
    busy: list[Interval],
    duration: timedelta,
    step: timedelta | None,
    buffer_before: timedelta,
    buffer_after: timedelta,
) -> None:
    slots = cut_slots(availability, duration, step, buffer_before, buffer_after, busy)

    stride = step or duration
    busy_ticks = tick_set(busy)
    expected: set[Interval] = set()
    for window in availability:
        start = window.start
        while start + duration <= window.end:
            guarded = tick_set([Interval(start - buffer_before, start + duration + buffer_after)])
            if not guarded & busy_ticks:
                expected.add(Interval(start, start + duration))
            start += stride
    assert slots == sorted(expected)
    assert len({slot.start for slot in slots}) == len(slots)
    assert all(slot.duration == duration for slot in slots)
    free = tick_set(subtract_time_off(availability, busy))
    assert all(tick_set([slot]) <= free for slot in slots)
