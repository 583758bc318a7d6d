"""Wrong options for a figure: the same figure changed, written the same way.

A year gets nearby years, a count a scaled count with its unit ("30 reporters" -> "18
reporters"), a measurement a value within a fifth of it with the same precision ("4.88m" ->
"5.37m", "$3.36bn" -> "3.70bn"), a race another race ("5,000m" -> "3,000m"), a date another
day or year of the same form. Unlike other key phrases of the material, these are always of
the answer's type. A changed figure that the material itself states is never offered: it
could be true.
"""

from __future__ import annotations

import math
import random
import re
import zlib

__all__ = ["figure_options"]

_FIGURE = re.compile(r"^(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(\D*)$")
_YEAR_STEPS = (-11, -7, -5, -3, -2, -1, 1, 2, 3, 4, 6, 9)
_DAY_STEPS = (-9, -6, -4, -2, -1, 1, 2, 3, 5, 8)
_FACTORS = (0.4, 0.5, 0.6, 0.75, 1.25, 1.5, 2.0, 3.0)
_MONTHS = frozenset(
    """january february march april may june july august september october november
    december""".split()  # noqa: SIM905 - a word list reads best as text
)


_ORDINAL_SUFFIXES = frozenset(["st", "nd", "rd", "th"])


def _ordinal(number: int) -> str:
    if 10 <= number % 100 <= 20:
        return f"{number}th"
    return f"{number}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(number % 10, 'th') }"


def _written(value: float, places: int, grouped: bool, suffix: str) -> str:
    text = f"{value:,.{places}f}" if grouped else f"{value:.{places}f}"
    return text + suffix


def _changed(token: str, *, year: bool, day: bool) -> list[str]:
    match = _FIGURE.match(token)
    if match is None:
        return []
    whole, decimals, suffix = match.group(1), match.group(2) or "", match.group(3)
    value = float(whole.replace(",", "") + (f".{decimals}" if decimals else ""))
    if year:
        return [str(int(value) + step) for step in _YEAR_STEPS]
    if day:
        return [str(int(value) + step) for step in _DAY_STEPS if 1 <= value + step <= 28]
    if suffix == "s" and not decimals and value % 10 == 0:
        # A decade: "the 1050s" becomes "the 1030s" or "the 1070s", never "the 2100s".
        return [f"{int(value) + step}s" for step in (-30, -20, -10, 10, 20, 30)]
    if suffix in _ORDINAL_SUFFIXES and not decimals:
        # "11th" becomes "9th" or "13th", never "22th".
        return [_ordinal(int(value) + step) for step in (-2, -1, 1, 2, 3) if value + step > 0]
    grouped = "," in whole
    places = len(decimals)
    if suffix == "m" and not decimals and int(value) in _RACES:
        # A race: "the women's 5,000m" is asked against other races, never "6,250m".
        others = sorted(
            (d for d in _RACES if d != int(value)), key=lambda d: abs(math.log(d / value))
        )
        return [_race(distance) for distance in others[:4]]
    if places:
        # A measurement ("4.88m", "6.39 seconds", "48.8 °C", "15.7%") is changed a little:
        # a pole vault of 14.64m or a sprint of 3.2 seconds gives the answer away.
        return _measured(value, places, grouped, suffix)
    changed = [value * factor for factor in _FACTORS]
    return [
        _written(v, places, grouped, suffix)
        for v in changed
        if v > 0 and (places or v == int(v) or v >= 10)
    ]


# Distances run in athletics, in metres.
_RACES = (60, 100, 200, 400, 800, 1500, 3000, 5000, 10000)
_CLOSE_FACTORS = (0.8, 0.85, 0.9, 0.95, 1.05, 1.1, 1.15, 1.2)


def _race(distance: int) -> str:
    return f"{distance:,}m"


def _measured(value: float, places: int, grouped: bool, suffix: str) -> list[str]:
    """Nearby values of a measurement, with its precision: within a fifth of it, or (when
    rounding makes those equal to it, "0.02 seconds") a few units of its last digit away."""
    answer = _written(value, places, grouped, suffix)
    close = [_written(value * factor, places, grouped, suffix) for factor in _CLOSE_FACTORS]
    options = [text for text in dict.fromkeys(close) if text != answer]
    if len(options) >= 3:
        return options
    unit = 10.0**-places
    steps = [value + step * unit for step in (-3, -2, -1, 1, 2, 3, 4, 5)]
    return [_written(v, places, grouped, suffix) for v in steps if v > 0]


def _is_year(token: str) -> bool:
    return token.isdigit() and len(token) == 4 and 1000 <= int(token) <= 2100


def figure_options(answer: str, source: str, count: int = 3) -> list[str]:
    """``count`` wrong versions of a figure, or [] when the answer holds no usable figure."""
    tokens = answer.split()
    months = [i for i, token in enumerate(tokens) if token.lower() in _MONTHS]
    if months and _is_year(tokens[-1]):
        index, year, day = len(tokens) - 1, True, False
    elif months:
        index, year, day = 0, False, True
    else:
        index = 0
        year, day = len(tokens) == 1 and _is_year(tokens[0]), False
    variants = _changed(tokens[index], year=year, day=day)
    flat_answer = re.sub(r"\W", "", answer)
    options: list[str] = []
    for variant in dict.fromkeys(variants):
        text = " ".join([*tokens[:index], variant, *tokens[index + 1 :]])
        flat = re.sub(r"\W", "", text)
        if flat in flat_answer or flat_answer in flat or _stated(variant, source):
            continue
        options.append(text)
    random.Random(zlib.crc32(answer.encode())).shuffle(options)
    return options[:count] if len(options) >= count else []


def _stated(figure: str, source: str) -> bool:
    return re.search(rf"(?<![\d.,]){re.escape(figure)}(?![\d])", source) is not None
