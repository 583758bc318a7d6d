"""Availability recurrence: local wall-time rules -> UTC intervals -> bookable slots.

The pure time core of the tutoring marketplace. No database, no clock: every
function takes datetimes and returns datetimes, aware and in UTC at the boundaries
(naive input is refused with ValueError).

How a rule becomes slots:

1. `AvailabilityRule` holds *local* wall times, an IANA zone and an RFC 5545 RRULE.
2. `expand_availability` lets dateutil enumerate occurrence **dates** in local wall time
   (so 09:00 stays 09:00 across DST), then resolves the window's wall-clock start and end
   to instants, each with the same rule (`kit.timezones`, PEP 495 ``fold=0``): a time in a
   spring-forward gap moves forward by the gap length, a repeated fall-back time takes its
   first occurrence. The occurrence is the elapsed time between the two instants, so a
   window holding a fall-back is longer than its wall-clock length and one holding a gap
   shorter; one whose resolved end is not after its resolved start (02:30-03:00 when
   clocks jump 02:00 -> 03:00) yields nothing that day. Offsets are taken at each
   occurrence's own date.
3. `cut_slots` tiles each interval with slots from its start, stepping through real (UTC)
   time, so every slot lasts exactly `duration` even when a DST change falls inside the
   window; busy time (time off, bookings) with buffers removes slots.
4. `filter_bookable` applies minimum notice and the booking horizon.

RRULE validation lives in `studyhall.scheduling.rrule`; its public names are re-exported
here so callers need one import.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from studyhall.kit.timezones import ensure_utc, local_date, local_to_utc, validate_zone
from studyhall.scheduling.calendar.rrule import (
    ExpansionTooCostly,
    RecurrenceRule,
    occurs_from,
    parse_rrule,
    selected_dates,
    validate_rule,
    weekly_rrule,
)

__all__ = [
    "SLOT_GRANULARITY",
    "AvailabilityRule",
    "ExpansionTooCostly",
    "Interval",
    "RecurrenceRule",
    "cut_slots",
    "expand_availability",
    "filter_bookable",
    "parse_rrule",
    "subtract_time_off",
    "validate_rule",
    "weekly_rrule",
]

SLOT_GRANULARITY: Final = timedelta(minutes=15)


@dataclass(frozen=True, slots=True, order=True)
class Interval:
    """A half-open UTC time range [start, end); also used for slots and busy time."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        start = ensure_utc(self.start, "interval start")
        end = ensure_utc(self.end, "interval end")
        if end <= start:
            raise ValueError(
                f"interval end {end.isoformat()} must be after its start {start.isoformat()}"
            )
        # Normalising here means every Interval compares and hashes in one time scale.
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)

    @property
    def duration(self) -> timedelta:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class AvailabilityRule:
    """Recurring availability in the tutor's own wall time.

    An `end_time` earlier than `start_time` means the window runs past midnight and ends
    on the next local day (22:00-02:00); equal times are refused because they could mean
    nothing or 24 hours. An occurrence belongs to the day it starts on, so `valid_from`
    and `valid_until` (inclusive local dates) are compared with start days. `valid_from`
    is the series' DTSTART date, but unlike RFC 5545 it is not an occurrence by itself
    unless the rule selects it; rules that count from their first day (COUNT,
    INTERVAL > 1, no BYDAY/BYMONTHDAY...) need it.
    """

    start_time: time
    end_time: time
    zone: str
    rrule: str
    valid_from: date | None = None
    valid_until: date | None = None

    def __post_init__(self) -> None:
        _check_wall_time(self.start_time, "start_time")
        _check_wall_time(self.end_time, "end_time")
        if self.end_time == self.start_time:
            raise ValueError(
                f"end_time must differ from start_time ({self.start_time}); an end earlier "
                "than the start means the window runs past midnight"
            )
        validate_zone(self.zone)
        _check_date(self.valid_from, "valid_from")
        _check_date(self.valid_until, "valid_until")
        if (
            self.valid_from is not None
            and self.valid_until is not None
            and self.valid_until < self.valid_from
        ):
            raise ValueError(
                f"valid_until {self.valid_until} is before valid_from {self.valid_from}"
            )
        rule = parse_rrule(self.rrule)
        _check_until(rule, self.valid_from)
        if rule.anchor_free:
            return
        if self.valid_from is None:
            raise ValueError(
                f"RRULE {self.rrule!r} counts from its first day (COUNT, INTERVAL > 1 or no "
                "BYDAY/BYMONTHDAY/BYYEARDAY/BYWEEKNO), so valid_from is required"
            )
        if not occurs_from(rule, self.valid_from):
            raise ValueError(f"RRULE {self.rrule!r} never occurs from {self.valid_from}")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)  # validated in __post_init__; zoneinfo caches instances

    @property
    def recurrence(self) -> RecurrenceRule:
        return parse_rrule(self.rrule)  # cached: many rules share the same text

    @property
    def crosses_midnight(self) -> bool:
        return self.end_time < self.start_time


# --- expansion --------------------------------------------------------------------------


def expand_availability(
    rule: AvailabilityRule, window_start_utc: datetime, window_end_utc: datetime
) -> list[Interval]:
    """UTC intervals of every occurrence of `rule` that *starts* in [start, end), sorted.

    Occurrences are whole (not clipped to the window), so slot alignment never depends on
    the window, and consecutive windows neither repeat nor miss an occurrence.
    """
    start = ensure_utc(window_start_utc, "window_start_utc")
    end = ensure_utc(window_end_utc, "window_end_utc")
    if end <= start:
        raise ValueError(f"window end {end.isoformat()} must be after start {start.isoformat()}")
    zone = rule.tz
    by_start: dict[datetime, Interval] = {}
    for day in _occurrence_days(rule, start, end, zone):
        occurrence = _occurrence_interval(rule, day, zone)
        if occurrence is None or not start <= occurrence.start < end:
            continue
        if not _within_until(rule, day, occurrence.start):
            continue
        # Two local days can only meet on one instant when a gap swallows a whole day
        # (Samoa skipped 2011-12-30); keep one interval per start.
        kept = by_start.get(occurrence.start)
        if kept is None or kept.end < occurrence.end:
            by_start[occurrence.start] = occurrence
    return [by_start[key] for key in sorted(by_start)]


def _occurrence_days(
    rule: AvailabilityRule, start: datetime, end: datetime, zone: ZoneInfo
) -> Iterator[date]:
    # A day of margin on both sides: a fall-back over midnight or a shifted gap can carry
    # an occurrence across a local date line. The caller filters exactly on UTC.
    first_day = local_date(start, zone) - timedelta(days=1)
    last_day = local_date(end, zone) + timedelta(days=1)
    if rule.valid_from is not None:
        first_day = max(first_day, rule.valid_from)
    if rule.valid_until is not None:
        last_day = min(last_day, rule.valid_until)
    if first_day > last_day:
        return
    recurrence = rule.recurrence
    # Anchor-free rules pick the same dates whatever day they start on, so start at the
    # window rather than iterate through years of history.
    anchor = first_day
    if not recurrence.anchor_free and rule.valid_from is not None:
        anchor = rule.valid_from  # COUNT and INTERVAL phases count from the first day
    yield from selected_dates(recurrence, anchor, first_day, last_day)


def _occurrence_interval(rule: AvailabilityRule, day: date, zone: ZoneInfo) -> Interval | None:
    """The elapsed time from the window's resolved start to its resolved end on `day`.

    Both ends follow the shared gap/fall-back policy, so a window is one real interval:
    a slot that starts in the first pass of a repeated hour and ends after the clocks went
    back is real time the tutor offered, and is kept.
    """
    wall_start = datetime.combine(day, rule.start_time)
    end_day = day + timedelta(days=1) if rule.crosses_midnight else day
    wall_end = datetime.combine(end_day, rule.end_time)
    start, end = local_to_utc(wall_start, zone), local_to_utc(wall_end, zone)
    if end <= start:
        return None  # the whole window is wall-clock time that does not exist that day
    return Interval(start, end)


def _within_until(rule: AvailabilityRule, day: date, start_utc: datetime) -> bool:
    until = rule.recurrence.until
    if until is None:
        return True
    if isinstance(until, datetime):
        if until.tzinfo is None:  # floating: a wall time in the rule's zone
            return datetime.combine(day, rule.start_time) <= until
        return start_utc <= until
    return day <= until


# --- time off, slots, bookability -------------------------------------------------------


class _Timeline:
    """Busy intervals merged into disjoint sorted runs, with O(log n) lookups."""

    __slots__ = ("_ends", "_runs")

    def __init__(self, intervals: Iterable[Interval]) -> None:
        runs: list[Interval] = []
        for interval in sorted(_require_intervals(intervals, "busy interval")):
            if runs and interval.start <= runs[-1].end:
                if interval.end > runs[-1].end:
                    runs[-1] = Interval(runs[-1].start, interval.end)
            else:
                runs.append(interval)
        self._runs = runs
        self._ends = [run.end for run in runs]

    def _first_ending_after(self, instant: datetime) -> int:
        return bisect.bisect_right(self._ends, instant)

    def overlaps(self, start: datetime, end: datetime) -> bool:
        index = self._first_ending_after(start)
        return index < len(self._runs) and self._runs[index].start < end

    def free_parts(self, interval: Interval) -> Iterator[Interval]:
        cursor = interval.start
        index = self._first_ending_after(interval.start)
        while index < len(self._runs) and self._runs[index].start < interval.end:
            run = self._runs[index]
            if run.start > cursor:
                yield Interval(cursor, run.start)
            cursor = max(cursor, run.end)
            index += 1
        if cursor < interval.end:
            yield Interval(cursor, interval.end)


def subtract_time_off(
    intervals: Iterable[Interval], time_off_intervals: Iterable[Interval]
) -> list[Interval]:
    """The parts of `intervals` not covered by time off, sorted, without duplicates.

    For display of free time. Slots are cut from the *unsubtracted* availability with
    time off passed as busy time, so they stay aligned to the availability's start.
    """
    blocked = _Timeline(time_off_intervals)
    parts = {
        part
        for interval in _require_intervals(intervals, "availability interval")
        for part in blocked.free_parts(interval)
    }
    return sorted(parts)


def cut_slots(
    intervals: Iterable[Interval],
    duration: timedelta,
    step: timedelta | None = None,
    buffer_before: timedelta = timedelta(0),
    buffer_after: timedelta = timedelta(0),
    busy: Iterable[Interval] = (),
) -> list[Interval]:
    """Slots of `duration` inside availability, free of busy time, sorted by start.

    Slot starts are each interval's start plus whole `step`s (default: `duration`), in
    real time, so a window holding a fall-back offers its repeated wall-clock times twice
    (they are different instants).

    A slot is kept when [start - buffer_before, end + buffer_after) overlaps
    nothing in `busy`: pass time off plus existing bookings as the buffered ranges the
    database's exclusion constraint stores, so every slot offered is one it will accept.
    Overlapping availability never yields two slots with the same start.
    """
    _check_quarter_hours(duration, "duration")
    stride = duration if step is None else step
    _check_quarter_hours(stride, "step")
    _check_non_negative(buffer_before, "buffer_before")
    _check_non_negative(buffer_after, "buffer_after")
    blocked = _Timeline(busy)
    slots: dict[datetime, Interval] = {}
    for window in _require_intervals(intervals, "availability interval"):
        start = window.start
        while start + duration <= window.end:
            end = start + duration
            if start not in slots and not blocked.overlaps(
                start - buffer_before, end + buffer_after
            ):
                slots[start] = Interval(start, end)
            start += stride
    return [slots[key] for key in sorted(slots)]


def filter_bookable(
    slots: Iterable[Interval], now: datetime, minimum_notice: timedelta, horizon: timedelta
) -> list[Interval]:
    """Slots starting in [now + minimum_notice, now + horizon), in the given order."""
    current = ensure_utc(now, "now")
    _check_non_negative(minimum_notice, "minimum_notice")
    if not isinstance(horizon, timedelta) or horizon <= timedelta(0):
        raise ValueError(f"horizon must be a positive duration, got {horizon}")
    earliest, latest = current + minimum_notice, current + horizon
    return [slot for slot in _require_intervals(slots, "slot") if earliest <= slot.start < latest]


# --- small validators -------------------------------------------------------------------


def _require_intervals(values: Iterable[Interval], name: str) -> list[Interval]:
    items = list(values)
    for item in items:
        if not isinstance(item, Interval):
            raise ValueError(f"each {name} must be an Interval, got {type(item).__name__}")
    return items


def _check_quarter_hours(value: timedelta, name: str) -> None:
    if not isinstance(value, timedelta) or value <= timedelta(0) or value % SLOT_GRANULARITY:
        raise ValueError(f"{name} must be a positive multiple of 15 minutes, got {value}")


def _check_non_negative(value: timedelta, name: str) -> None:
    if not isinstance(value, timedelta) or value < timedelta(0):
        raise ValueError(f"{name} must be a duration of zero or more, got {value}")


def _check_wall_time(value: time, name: str) -> None:
    if not isinstance(value, time):
        raise ValueError(f"{name} must be a time of day, got {type(value).__name__}")
    if value.tzinfo is not None:
        raise ValueError(f"{name} must be a local wall time without tzinfo; give the zone")
    if value.second or value.microsecond:
        raise ValueError(f"{name} must be a whole minute, got {value.isoformat()}")


def _check_until(rule: RecurrenceRule, valid_from: date | None) -> None:
    # A series that ends before it starts would be accepted and silently offer nothing.
    if rule.until is None or valid_from is None:
        return
    if isinstance(rule.until, datetime):
        # A UTC UNTIL can name the day before a local first day east of Greenwich.
        too_early = rule.until.date() < valid_from - timedelta(days=1)
    else:
        too_early = rule.until < valid_from
    if too_early:
        raise ValueError(f"RRULE UNTIL {rule.until} is before the first day {valid_from}")


def _check_date(value: date | None, name: str) -> None:
    # datetime is a date subclass; a datetime here would smuggle in a time and zone.
    if value is not None and (isinstance(value, datetime) or not isinstance(value, date)):
        raise ValueError(f"{name} must be a date, got {type(value).__name__}")
