"""Availability recurrence: local wall-time rules -> UTC intervals -> bookable slots.

The pure time core of the tutoring marketplace (issue 4). No database, no clock: every
function takes datetimes and returns datetimes, aware and in UTC at the boundaries
(naive input is refused with ValueError).

How a rule becomes slots:

1. `AvailabilityRule` holds *local* wall times, an IANA zone and an RFC 5545 RRULE.
2. `expand_availability` lets dateutil enumerate occurrence **dates** in local wall time
   (so 09:00 stays 09:00 across DST), then turns each occurrence into a UTC interval with
   `kit.timezones`, so the offset is the one in force on that occurrence's own date.
   A start or end in a spring-forward gap moves forward by the gap length; one in a
   repeated fall-back hour takes its first occurrence (see `studyhall.kit.timezones`).
   Gaps: a window partly in a gap is shortened, and one wholly in it (02:00-03:00 when
   clocks jump 02:00 -> 03:00) yields nothing that day. Fall-back: the second pass over
   repeated wall-clock times inside a window is left out, so each local time is
   offered at most once (the occurrence then comes as two intervals). Nothing is ever
   produced twice.
3. `cut_slots` cuts each interval into slots aligned to the interval's start and steps
   through real (UTC) time, so every slot lasts exactly `duration` even when a DST change
   falls inside the window (after a fall-back split, the second interval is aligned to
   the wall-clock time the repeat ends at); busy time (time off, bookings) with buffers
   removes slots.
4. `filter_bookable` applies minimum notice and the booking horizon.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final, Literal, cast
from zoneinfo import ZoneInfo

from dateutil import rrule as du

from studyhall.kit.timezones import ensure_utc, local_date, local_to_utc, validate_zone

__all__ = [
    "SLOT_GRANULARITY",
    "AvailabilityRule",
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

Frequency = Literal["DAILY", "WEEKLY", "MONTHLY", "YEARLY"]
_FREQUENCIES: Final[dict[str, Literal[0, 1, 2, 3]]] = {
    "YEARLY": du.YEARLY,
    "MONTHLY": du.MONTHLY,
    "WEEKLY": du.WEEKLY,
    "DAILY": du.DAILY,
}
_WEEKDAY_NAMES: Final = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")  # index = date.weekday()
# Seed 001 numbers days like PostgreSQL's EXTRACT(DOW): 0 = Sunday ... 6 = Saturday.
_SEED_DAY_OF_WEEK: Final = ("SU", "MO", "TU", "WE", "TH", "FR", "SA")

_TIME_OF_DAY_PARTS: Final = frozenset({"BYHOUR", "BYMINUTE", "BYSECOND"})
# name -> (largest absolute value, negative values allowed), from RFC 5545 section 3.3.10.
_INT_LIST_PARTS: Final[dict[str, tuple[int, bool]]] = {
    "BYMONTHDAY": (31, True),
    "BYYEARDAY": (366, True),
    "BYWEEKNO": (53, True),
    "BYMONTH": (12, False),
    "BYSETPOS": (366, True),
}
_ALLOWED_PARTS: Final = frozenset(
    {"FREQ", "UNTIL", "COUNT", "INTERVAL", "WKST", "BYDAY", *_INT_LIST_PARTS}
)
# RFC 5545's table of which BYxxx parts a FREQ may not use.
_FORBIDDEN_WITH: Final[dict[str, frozenset[str]]] = {
    "BYMONTHDAY": frozenset({"WEEKLY"}),
    "BYYEARDAY": frozenset({"DAILY", "WEEKLY", "MONTHLY"}),
    "BYWEEKNO": frozenset({"DAILY", "WEEKLY", "MONTHLY"}),
}
# Far beyond any availability pattern, and it keeps dateutil's date arithmetic sane.
_MAX_INTERVAL: Final = 366
_BYDAY_ITEM: Final = re.compile(r"([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)")
_INTEGER: Final = re.compile(r"[+-]?\d{1,9}")
# The Gregorian calendar repeats exactly every 400 years (146 097 days, a whole number of
# weeks), so moving DTSTART by whole cycles does not change which dates a rule picks.
_CALENDAR_CYCLE_YEARS: Final = 400
_LAST_CYCLE_START: Final = datetime(datetime.max.year + 1 - _CALENDAR_CYCLE_YEARS, 1, 1)


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
class RecurrenceRule:
    """A validated RRULE value (no DTSTART: the first day comes from the availability rule).

    `until` keeps the form it was written in: a date (through that local day), a naive
    datetime (local wall time in the rule's zone) or an aware UTC datetime.
    """

    text: str
    freq: Frequency
    interval: int = 1
    count: int | None = None
    until: date | datetime | None = None
    wkst: int | None = None
    by_day: tuple[tuple[int, int | None], ...] = ()  # (weekday, 0 = Monday; ordinal or None)
    by_month_day: tuple[int, ...] = ()
    by_year_day: tuple[int, ...] = ()
    by_week_no: tuple[int, ...] = ()
    by_month: tuple[int, ...] = ()
    by_set_pos: tuple[int, ...] = ()

    @property
    def has_end(self) -> bool:
        return self.count is not None or self.until is not None

    @property
    def anchor_free(self) -> bool:
        """True when the dates picked do not depend on which day the series starts.

        COUNT and INTERVAL > 1 count from the first day, and a rule without any day
        selector (e.g. bare FREQ=WEEKLY) inherits its weekday or month day from it.
        """
        selects_days = bool(self.by_day or self.by_month_day or self.by_year_day or self.by_week_no)
        return self.count is None and self.interval == 1 and (self.freq == "DAILY" or selects_days)


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
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            raise ValueError(
                f"valid_until {self.valid_until} is before valid_from {self.valid_from}"
            )
        rule = parse_rrule(self.rrule)
        if rule.anchor_free:
            return
        if self.valid_from is None:
            raise ValueError(
                f"RRULE {self.rrule!r} counts from its first day (COUNT, INTERVAL > 1 or no "
                "BYDAY/BYMONTHDAY/BYYEARDAY/BYWEEKNO), so valid_from is required"
            )
        if not _occurs_from(rule, self.valid_from):
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


# --- RRULE parsing ----------------------------------------------------------------------


def parse_rrule(text: str) -> RecurrenceRule:
    """Validate an RFC 5545 RRULE value (``FREQ=WEEKLY;BYDAY=MO,WE``, optional ``RRULE:``).

    Raises ValueError naming the problem. Refused beyond RFC syntax: FREQ finer than
    DAILY and BYHOUR/BYMINUTE/BYSECOND (times of day come from the availability's start
    and end), DTSTART/EXDATE lines, and rules that never select a date (dateutil would
    search until year 9999 on every expansion). A rule that counts from its first day
    (`RecurrenceRule.anchor_free` is False) is checked against it by `AvailabilityRule`.
    """
    if not isinstance(text, str):
        raise ValueError(f"RRULE must be a string, got {type(text).__name__}")
    return _parse_rrule_cached(text)


def validate_rule(rrule: str, has_horizon: bool) -> RecurrenceRule:
    """API-facing check: `parse_rrule`, and a rule without COUNT/UNTIL needs a horizon."""
    rule = parse_rrule(rrule)
    if not rule.has_end and not has_horizon:
        raise ValueError(
            f"RRULE {rrule!r} repeats forever: add COUNT or UNTIL, or set a booking horizon "
            "so slots are only made that far ahead"
        )
    return rule


def weekly_rrule(weekdays: Iterable[int]) -> str:
    """RRULE for seed 001's weekday windows (day_of_week 0 = Sunday ... 6 = Saturday)."""
    names: set[str] = set()
    for day in weekdays:
        if isinstance(day, bool) or not isinstance(day, int) or not 0 <= day <= 6:
            raise ValueError(f"day_of_week must be 0 (Sunday) to 6 (Saturday), got {day!r}")
        names.add(_SEED_DAY_OF_WEEK[day])
    if not names:
        raise ValueError("a weekly rule needs at least one day_of_week")
    # Monday-first order so that the same set of days always gives the same text.
    return "FREQ=WEEKLY;BYDAY=" + ",".join(sorted(names, key=_WEEKDAY_NAMES.index))


@functools.lru_cache(maxsize=4096)
def _parse_rrule_cached(text: str) -> RecurrenceRule:
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[len("RRULE:") :]
    body = body.upper()
    if not body:
        raise _invalid(text, "it is empty; expected e.g. 'FREQ=WEEKLY;BYDAY=MO,WE'")
    if "\n" in body or "\r" in body:
        raise _invalid(
            text,
            "give only the RRULE value; DTSTART/EXDATE/RDATE lines are "
            "not accepted (the first day comes from valid_from)",
        )
    parts = _split_parts(body, text)
    freq = _parse_freq(parts, text)
    rule = RecurrenceRule(
        text=body,
        freq=freq,
        interval=_parse_int(parts, "INTERVAL", 1, _MAX_INTERVAL, text) or 1,
        count=_parse_int(parts, "COUNT", 1, 10**9, text),
        until=_parse_until(parts.get("UNTIL"), text),
        wkst=_parse_wkst(parts.get("WKST"), text),
        by_day=_parse_by_day(parts.get("BYDAY"), freq, text),
        by_month_day=_parse_int_list(parts, "BYMONTHDAY", text),
        by_year_day=_parse_int_list(parts, "BYYEARDAY", text),
        by_week_no=_parse_int_list(parts, "BYWEEKNO", text),
        by_month=_parse_int_list(parts, "BYMONTH", text),
        by_set_pos=_parse_int_list(parts, "BYSETPOS", text),
    )
    _check_combinations(rule, parts, text)
    if rule.anchor_free and not _picks_some_date(rule):
        raise _invalid(text, "it never selects any date")
    return rule


def _invalid(text: str, reason: str) -> ValueError:
    return ValueError(f"invalid RRULE {text!r}: {reason}")


def _split_parts(body: str, text: str) -> dict[str, str]:
    parts: dict[str, str] = {}
    for item in body.split(";"):
        name, sep, value = item.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name or not value:
            raise _invalid(text, f"expected NAME=VALUE parts separated by ';', got {item!r}")
        if name in _TIME_OF_DAY_PARTS:
            raise _invalid(
                text,
                f"{name} is not supported: times of day come from the "
                "availability's start and end time",
            )
        if name not in _ALLOWED_PARTS:
            raise _invalid(text, f"unknown part {name!r}")
        if name in parts:
            raise _invalid(text, f"{name} appears more than once")
        parts[name] = value
    return parts


def _parse_freq(parts: dict[str, str], text: str) -> Frequency:
    freq = parts.get("FREQ")
    if freq is None:
        raise _invalid(text, "FREQ is required")
    if freq in {"SECONDLY", "MINUTELY", "HOURLY"}:
        raise _invalid(text, f"FREQ={freq} is not allowed: availability repeats at most daily")
    if freq in _FREQUENCIES:
        return cast(Frequency, freq)
    raise _invalid(text, f"FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY, got {freq!r}")


def _parse_int(parts: dict[str, str], name: str, low: int, high: int, text: str) -> int | None:
    value = parts.get(name)
    if value is None:
        return None
    if not value.isdigit() or not low <= int(value) <= high:
        raise _invalid(text, f"{name} must be a whole number from {low} to {high}, got {value!r}")
    return int(value)


def _parse_int_list(parts: dict[str, str], name: str, text: str) -> tuple[int, ...]:
    value = parts.get(name)
    if value is None:
        return ()
    largest, signed = _INT_LIST_PARTS[name]
    low = -largest if signed else 1
    numbers: list[int] = []
    for item in value.split(","):
        number = int(item) if _INTEGER.fullmatch(item) else None
        if number is None or number == 0 or not low <= number <= largest:
            raise _invalid(
                text,
                f"{name} values must be non-zero whole numbers from {low} to {largest}, "
                f"got {item!r}",
            )
        numbers.append(number)
    return tuple(sorted(set(numbers)))


def _parse_by_day(
    value: str | None, freq: Frequency, text: str
) -> tuple[tuple[int, int | None], ...]:
    if value is None:
        return ()
    days: set[tuple[int, int | None]] = set()
    for item in value.split(","):
        match = _BYDAY_ITEM.fullmatch(item.strip())
        if match is None:
            raise _invalid(text, f"BYDAY items look like MO, 2TU or -1FR, got {item!r}")
        ordinal = int(match[1]) if match[1] else None
        if ordinal is not None and (ordinal == 0 or abs(ordinal) > 53):
            raise _invalid(text, f"BYDAY ordinal must be 1..53 or -53..-1, got {item!r}")
        if ordinal is not None and freq in {"DAILY", "WEEKLY"}:
            # RFC 5545 forbids it, and dateutil would silently drop the ordinal.
            raise _invalid(text, f"BYDAY ordinals such as {item!r} need FREQ=MONTHLY or YEARLY")
        days.add((_WEEKDAY_NAMES.index(match[2]), ordinal))
    return tuple(sorted(days, key=lambda day: (day[0], day[1] or 0)))


def _parse_wkst(value: str | None, text: str) -> int | None:
    if value is None:
        return None
    if value not in _WEEKDAY_NAMES:
        raise _invalid(text, f"WKST must be one of {', '.join(_WEEKDAY_NAMES)}, got {value!r}")
    return _WEEKDAY_NAMES.index(value)


def _parse_until(value: str | None, text: str) -> date | datetime | None:
    if value is None:
        return None
    try:
        if re.fullmatch(r"\d{8}", value):
            return datetime.strptime(value, "%Y%m%d").date()
        if re.fullmatch(r"\d{8}T\d{6}", value):
            return datetime.strptime(value, "%Y%m%dT%H%M%S")
        if re.fullmatch(r"\d{8}T\d{6}Z", value):
            return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        pass  # a well-shaped but impossible date such as 20261332: same message below
    raise _invalid(
        text, f"UNTIL must be YYYYMMDD, YYYYMMDDTHHMMSS or YYYYMMDDTHHMMSSZ, got {value!r}"
    )


def _check_combinations(rule: RecurrenceRule, parts: dict[str, str], text: str) -> None:
    if rule.count is not None and rule.until is not None:
        raise _invalid(text, "COUNT and UNTIL cannot both be given (RFC 5545)")
    for name, frequencies in _FORBIDDEN_WITH.items():
        if name in parts and rule.freq in frequencies:
            raise _invalid(text, f"{name} cannot be used with FREQ={rule.freq} (RFC 5545)")
    if (
        rule.by_set_pos
        and len(parts.keys() & {"BYDAY", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYMONTH"}) == 0
    ):
        raise _invalid(text, "BYSETPOS needs another BYxxx part to pick positions from")


def _to_dateutil(rule: RecurrenceRule, dtstart: datetime) -> du.rrule:
    # UNTIL is applied by the caller, which knows the rule's zone; dateutil only ever
    # sees naive local wall times.
    weekdays = [
        du.weekdays[day] if ordinal is None else du.weekdays[day](ordinal)
        for day, ordinal in rule.by_day
    ]
    return du.rrule(
        _FREQUENCIES[rule.freq],
        dtstart=dtstart,
        interval=rule.interval,
        wkst=rule.wkst,
        count=rule.count,
        bysetpos=rule.by_set_pos or None,
        bymonth=rule.by_month or None,
        bymonthday=rule.by_month_day or None,
        byyearday=rule.by_year_day or None,
        byweekno=rule.by_week_no or None,
        byweekday=weekdays or None,
        cache=False,
    )


def _picks_some_date(rule: RecurrenceRule) -> bool:
    """Whether an anchor-free rule matches any date at all (its dates repeat every cycle)."""
    probe = rule
    if rule.freq == "WEEKLY":
        # Only BYDAY and BYMONTH filter a week (RFC 5545) and every month holds whole
        # weeks, so some week keeps every BYDAY day: only BYSETPOS can rule out all weeks.
        return not rule.by_set_pos or min(abs(pos) for pos in rule.by_set_pos) <= len(rule.by_day)
    if rule.freq == "DAILY":
        # A DAILY period is a single day, so BYSETPOS can only keep position 1 or -1.
        if rule.by_set_pos and not {1, -1} & set(rule.by_set_pos):
            return False
        if not (rule.by_day or rule.by_month_day):
            return True  # every day of the BYMONTH months
        # The same filters over yearly periods pick the same days in 365 times fewer
        # dateutil steps; this probe may cost a whole calendar cycle.
        probe = dataclasses.replace(rule, freq="YEARLY", by_set_pos=())
    return _first_match_before_maxyear(probe, _LAST_CYCLE_START)


def _occurs_from(rule: RecurrenceRule, first_day: date) -> bool:
    """Whether a rule started on `first_day` matches within one 400-year calendar cycle."""
    # Moved by whole cycles into 9200..9599, the search sees 400 to 800 years of calendar.
    cycles = -(
        -(_LAST_CYCLE_START.year - _CALENDAR_CYCLE_YEARS - first_day.year) // _CALENDAR_CYCLE_YEARS
    )  # ceiling division
    moved = first_day.replace(year=first_day.year + cycles * _CALENDAR_CYCLE_YEARS)
    return _first_match_before_maxyear(rule, datetime.combine(moved, time()))


def _first_match_before_maxyear(rule: RecurrenceRule, dtstart: datetime) -> bool:
    # dateutil looks for the next match until year 9999 and has no other stop, so a rule
    # that can never match costs seconds of CPU per use. Probing from a start in the
    # last cycles before 9999 bounds that search by dateutil's own stop at MAXYEAR.
    try:
        return next(iter(_to_dateutil(rule, dtstart)), None) is not None
    except (ValueError, OverflowError):
        # dateutil may overflow building the calendar past 9999-12-31, having found nothing.
        return False


# --- expansion --------------------------------------------------------------------------


def expand_availability(
    rule: AvailabilityRule, window_start_utc: datetime, window_end_utc: datetime
) -> list[Interval]:
    """UTC intervals of every occurrence of `rule` that *starts* in [start, end), sorted.

    Occurrences are whole (not clipped to the window), so slot alignment never depends on
    the window, and consecutive windows neither repeat nor miss an occurrence. An
    occurrence that spans a fall-back comes as two intervals (see `_occurrence_parts`).
    """
    start = ensure_utc(window_start_utc, "window_start_utc")
    end = ensure_utc(window_end_utc, "window_end_utc")
    if end <= start:
        raise ValueError(f"window end {end.isoformat()} must be after start {start.isoformat()}")
    zone = rule.tz
    by_start: dict[datetime, Interval] = {}
    for day in _occurrence_days(rule, start, end, zone):
        parts = _occurrence_parts(rule, day, zone)
        if not parts or not start <= parts[0].start < end:
            continue
        if not _within_until(rule, day, parts[0].start):
            continue
        for part in parts:
            # Two local days can only meet on one instant when a gap swallows a whole day
            # (Samoa skipped 2011-12-30); keep one interval per start.
            kept = by_start.get(part.start)
            if kept is None or kept.end < part.end:
                by_start[part.start] = part
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
    series = _to_dateutil(recurrence, datetime.combine(anchor, time()))
    after = datetime.combine(first_day, time())
    before = datetime.combine(last_day, time())
    for occurrence in series.between(after, before, inc=True):
        yield occurrence.date()


def _occurrence_parts(rule: AvailabilityRule, day: date, zone: ZoneInfo) -> list[Interval]:
    """The instants whose wall-clock time lies in the rule's window on `day`, once each.

    Start and end follow the shared gap/fall-back policy. If the clocks go back inside
    the window, the second pass over the repeated wall-clock times is left out: those
    times were already offered in the first pass, and offering them again is how a
    repeated hour turns into two slots with the same local time.
    """
    wall_start = datetime.combine(day, rule.start_time)
    end_day = day + timedelta(days=1) if rule.crosses_midnight else day
    wall_end = datetime.combine(end_day, rule.end_time)
    start, end = local_to_utc(wall_start, zone), local_to_utc(wall_end, zone)
    if end <= start:
        return []  # the whole window is wall-clock time that does not exist that day
    # Real time can only exceed wall-clock time when the clocks went back inside the
    # window (a gap or a shifted start only ever shortens it): the cheap test first.
    repeat = end - start - (wall_end - wall_start)
    if repeat <= timedelta(0):
        return [Interval(start, end)]
    clocks_go_back = _offset_change(start, end, zone)
    bounds = ((start, clocks_go_back), (clocks_go_back + repeat, end))
    return [Interval(low, high) for low, high in bounds if low < high]


def _offset_change(start: datetime, end: datetime, zone: ZoneInfo) -> datetime:
    """The first instant in (start, end] whose UTC offset differs from start's."""
    before = start.astimezone(zone).utcoffset()
    low, high = start, end
    while high - low > timedelta(seconds=1):  # offsets change on whole seconds
        middle = (low + (high - low) / 2).replace(microsecond=0)
        if middle.astimezone(zone).utcoffset() == before:
            low = middle
        else:
            high = middle
    return high


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
    real time. A slot is kept when [start - buffer_before, end + buffer_after) overlaps
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
        raise ValueError(f"horizon must be a positive duration, got {horizon!r}")
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
        raise ValueError(f"{name} must be a positive multiple of 15 minutes, got {value!r}")


def _check_non_negative(value: timedelta, name: str) -> None:
    if not isinstance(value, timedelta) or value < timedelta(0):
        raise ValueError(f"{name} must be a duration of zero or more, got {value!r}")


def _check_wall_time(value: time, name: str) -> None:
    if not isinstance(value, time):
        raise ValueError(f"{name} must be a time of day, got {type(value).__name__}")
    if value.tzinfo is not None:
        raise ValueError(f"{name} must be a local wall time without tzinfo; give the zone")
    if value.second or value.microsecond:
        raise ValueError(f"{name} must be a whole minute, got {value.isoformat()}")


def _check_date(value: date | None, name: str) -> None:
    # datetime is a date subclass; a datetime here would smuggle in a time and zone.
    if value is not None and (isinstance(value, datetime) or not isinstance(value, date)):
        raise ValueError(f"{name} must be a date, got {type(value).__name__}")
