"""RFC 5545 RRULE values for availability: strict validation and date enumeration.

Availability recurs on dates; the time of day comes from the availability rule's local
start and end times, so this module only ever deals in dates (dateutil sees naive local
wall times). Used by `studyhall.scheduling.recurrence`, which re-exports the public names.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final, Literal, cast

from dateutil import rrule as du

__all__ = [
    "MAX_WALK_PERIODS",
    "ExpansionTooCostly",
    "RecurrenceRule",
    "occurs_from",
    "parse_rrule",
    "selected_dates",
    "validate_rule",
    "weekly_rrule",
]

Frequency = Literal["DAILY", "WEEKLY", "MONTHLY", "YEARLY"]
_FREQUENCIES: Final[dict[str, Literal[0, 1, 2, 3]]] = {
    "YEARLY": du.YEARLY,
    "MONTHLY": du.MONTHLY,
    "WEEKLY": du.WEEKLY,
    "DAILY": du.DAILY,
}
_WEEKDAY_NAMES: Final = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")  # index = date.weekday()
# Weekday windows number days like PostgreSQL's EXTRACT(DOW): 0 = Sunday ... 6 = Saturday.
_SEED_DAY_OF_WEEK: Final = ("SU", "MO", "TU", "WE", "TH", "FR", "SA")

_TIME_OF_DAY_PARTS: Final = frozenset({"BYHOUR", "BYMINUTE", "BYSECOND"})
# iCalendar properties that sit beside an RRULE, written by mistake as if they were parts.
_OTHER_PROPERTIES: Final = frozenset({"DTSTART", "EXDATE", "RDATE", "EXRULE"})
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
# ASCII digits only: str.isdigit() and \d also accept digits int() cannot read ("²").
_BYDAY_ITEM: Final = re.compile(r"([+-]?[0-9]{1,2})?(MO|TU|WE|TH|FR|SA|SU)")
_INTEGER: Final = re.compile(r"[+-]?[0-9]{1,9}")
_MAX_RRULE_LENGTH: Final = 1000  # real rules are well under 200 characters
# The Gregorian calendar repeats exactly every 400 years (146 097 days, a whole number of
# weeks), so moving DTSTART by whole cycles does not change which dates a rule picks.
_CALENDAR_CYCLE_YEARS: Final = 400
_LAST_CYCLE_START: Final = datetime(datetime.max.year + 1 - _CALENDAR_CYCLE_YEARS, 1, 1)


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
    if len(text) > _MAX_RRULE_LENGTH:
        raise ValueError(f"RRULE is too long: {len(text)} characters, at most {_MAX_RRULE_LENGTH}")
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
    """RRULE for weekday windows (day_of_week 0 = Sunday ... 6 = Saturday)."""
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
        if name in _OTHER_PROPERTIES:
            raise _invalid(
                text,
                f"{name} is not supported: the first day comes from start_date, and single "
                "dates are left out with time off (POST /time-off)",
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
    if not re.fullmatch(r"[0-9]{1,10}", value) or not low <= int(value) <= high:
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
        if re.fullmatch(r"[0-9]{8}", value):
            return datetime.strptime(value, "%Y%m%d").date()
        if re.fullmatch(r"[0-9]{8}T[0-9]{6}", value):
            return datetime.strptime(value, "%Y%m%dT%H%M%S")
        if re.fullmatch(r"[0-9]{8}T[0-9]{6}Z", value):
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


def _iteration_form(rule: RecurrenceRule) -> RecurrenceRule:
    """An equivalent rule that dateutil walks faster, for anchor-free DAILY rules.

    dateutil steps a DAILY rule one day at a time, so a rare date (BYMONTH=2;
    BYMONTHDAY=29;BYDAY=MO) costs decades of steps per expansion. The same BYDAY /
    BYMONTHDAY / BYMONTH filters over yearly periods pick exactly the same days, a year
    per step. A DAILY period is a single day, so BYSETPOS can only keep position 1 or -1,
    and dropping it is exact once `_picks_some_date` has refused the other positions.
    """
    if rule.freq != "DAILY" or not rule.anchor_free or not (rule.by_day or rule.by_month_day):
        return rule
    return dataclasses.replace(rule, freq="YEARLY", by_set_pos=())


def _picks_some_date(rule: RecurrenceRule) -> bool:
    """Whether an anchor-free rule matches any date at all (its dates repeat every cycle)."""
    if rule.freq == "WEEKLY":
        # Only BYDAY and BYMONTH filter a week (RFC 5545) and every month holds whole
        # weeks, so some week keeps every BYDAY day: only BYSETPOS can rule out all weeks.
        return not rule.by_set_pos or min(abs(pos) for pos in rule.by_set_pos) <= len(rule.by_day)
    if rule.freq == "DAILY":
        if rule.by_set_pos and not {1, -1} & set(rule.by_set_pos):
            return False  # a one-day period has no second (or second-to-last) position
        if not (rule.by_day or rule.by_month_day):
            return True  # every day of the BYMONTH months
    return _first_match_before_maxyear(_iteration_form(rule), _LAST_CYCLE_START)


def occurs_from(rule: RecurrenceRule, first_day: date) -> bool:
    """Whether a rule started on `first_day` matches within one 400-year calendar cycle."""
    # Moved by whole cycles into 9200..9599, the search sees 400 to 800 years of calendar.
    floor_year = _LAST_CYCLE_START.year - _CALENDAR_CYCLE_YEARS
    cycles = -(-(floor_year - first_day.year) // _CALENDAR_CYCLE_YEARS)  # ceiling division
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


def selected_dates(rule: RecurrenceRule, anchor: date, first: date, last: date) -> Iterator[date]:
    """Dates in [first, last] picked by `rule` for a series whose first day is `anchor`.

    The work is bounded whatever the first day, COUNT or INTERVAL: dateutil walks from the
    series' first day, so the series is first moved forward to just before `first` by a
    shift that provably picks the same dates (`_moved_forward`); a counted series that
    cannot be moved and would need more than `MAX_WALK_PERIODS` periods of walking is
    refused with `ExpansionTooCostly`.
    """
    moved = _moved_forward(rule, anchor, first)
    if moved is None:
        return  # COUNT ran out before `first`
    rule, anchor = moved
    _check_walk(rule, anchor, first)
    series = _to_dateutil(_iteration_form(rule), datetime.combine(anchor, time()))
    after, before = datetime.combine(first, time()), datetime.combine(last, time())
    for occurrence in series.between(after, before, inc=True):
        yield occurrence.date()


class ExpansionTooCostly(ValueError):
    """A counted series started so long ago that finding today's occurrence costs too much."""


# About 20,000 dateutil steps, a few tenths of a second: a daily counted series begun 55
# years before the window. New rules cannot start more than a year back (the API refuses it).
MAX_WALK_PERIODS: Final = 20_000
_PERIOD_DAYS: Final[dict[str, int]] = {"DAILY": 1, "WEEKLY": 7, "MONTHLY": 28, "YEARLY": 365}


def _moved_forward(
    rule: RecurrenceRule, anchor: date, first: date
) -> tuple[RecurrenceRule, date] | None:
    """An equivalent (rule, first day) starting at most a couple of periods before `first`.

    DAILY and WEEKLY periods are a fixed number of days (INTERVAL days or weeks; weeks stay
    aligned to WKST because the shift is whole weeks), so moving the first day by whole
    periods keeps every later date. MONTHLY and YEARLY move by whole 400-year Gregorian
    cycles times INTERVAL, after which the calendar and the period phase both repeat.
    With COUNT, occurrences skipped must be subtracted, which is exact only where every
    period holds the same number of them (`_occurrences_per_period`); otherwise the
    series is walked from its real first day (bounded by `_check_walk`). None: the count
    is used up before `first`.
    """
    if rule.anchor_free or first <= anchor:
        return rule, anchor
    if rule.freq in ("DAILY", "WEEKLY"):
        period = rule.interval * _PERIOD_DAYS[rule.freq]
        # Keep one whole period of margin, so the moved first period ends before `first`.
        periods = max(0, (first - anchor).days // period - 1)
        if periods == 0:
            return rule, anchor
        moved_anchor = anchor + timedelta(days=periods * period)
        if rule.count is None:
            return rule, moved_anchor
        per_period = _occurrences_per_period(rule)
        if per_period is None:
            return rule, anchor
        remaining = rule.count - periods * per_period
        if remaining <= 0:
            return None
        return dataclasses.replace(rule, count=remaining), moved_anchor
    if rule.count is not None:
        return rule, anchor
    cycle = _CALENDAR_CYCLE_YEARS * rule.interval
    cycles = max(0, (first.year - anchor.year - 1) // cycle)
    return rule, anchor.replace(year=anchor.year + cycles * cycle)


def _occurrences_per_period(rule: RecurrenceRule) -> int | None:
    """How many dates each DAILY/WEEKLY period picks, when it is the same for all of them.

    A week's candidates are its BYDAY days (or the first day's weekday), and BYSETPOS picks
    the same positions from them every week; BYMONTH would make weeks differ. The first
    period may be partial, but the dates it lacks before the first day are exactly those
    the moved first period lacks, so whole periods are what is skipped.
    """
    if rule.by_month or rule.by_month_day or rule.by_year_day or rule.by_week_no:
        return None
    if rule.freq == "DAILY":
        return None if rule.by_day or rule.by_set_pos else 1
    days = len(rule.by_day) or 1
    if not rule.by_set_pos:
        return days
    return len({pos - 1 if pos > 0 else days + pos for pos in rule.by_set_pos if abs(pos) <= days})


def _check_walk(rule: RecurrenceRule, anchor: date, first: date) -> None:
    if rule.anchor_free:
        return
    periods = (first - anchor).days // (_PERIOD_DAYS[rule.freq] * rule.interval)
    if periods > MAX_WALK_PERIODS:
        raise ExpansionTooCostly(
            f"RRULE {rule.text!r} started on {anchor} counts its occurrences from that day; "
            f"walking {periods} periods to {first} is refused (at most {MAX_WALK_PERIODS})"
        )
