"""Languages and formats: gettext catalogues (Babel) and each viewer's locale and time zone.

The catalogues are kept as ``.po`` files only and compiled in memory on first use, so there is no
build step between editing a translation and serving it.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from importlib.resources import files
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_skeleton, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, get_currency_precision
from babel.support import NullTranslations, Translations
from starlette.requests import Request

LANGUAGES = ("en", "ar")
DEFAULT_LANGUAGE = "en"
LANGUAGE_COOKIE = "sh_lang"
LANGUAGE_NAMES = {"en": "English", "ar": "العربية"}


@lru_cache
def translations(language: str) -> NullTranslations:
    if language == DEFAULT_LANGUAGE:
        return NullTranslations()
    po = files("studyhall.web") / "locales" / language / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as source:
        catalog = read_po(source, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def negotiate(request: Request) -> str:
    """The viewer's choice (cookie) first, then the browser's ``Accept-Language``."""
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";")[0].strip().lower()
        primary = tag.split("-")[0]
        if primary in LANGUAGES:
            return primary
    return DEFAULT_LANGUAGE


# Formatting is pure but costs Babel a pattern lookup and a locale parse per call; a page lists
# hundreds of times and prices that repeat (the same minute of the day, the same offering's price),
# so each distinct value is formatted once per language.
@lru_cache(maxsize=4096)
def _clock(language: str, hour: int, minute: int) -> str:
    """A time of day as the locale writes it ("4:00 PM"): the short pattern has no zone in it,
    so the local hour and minute decide the text."""
    return format_time(dt.time(hour, minute), "short", locale=language)


@lru_cache(maxsize=4096)
def _day(language: str, day: dt.date, style: str) -> str:
    if style == "full":
        return format_date(day, "full", locale=language)
    return format_skeleton("yMMMEd", day, locale=language)


@lru_cache(maxsize=4096)
def _money(language: str, cents: int, code: str) -> str:
    amount = Decimal(cents).scaleb(-get_currency_precision(code))
    return format_currency(amount, code, locale=language)


# Two-letter codes Babel names that are not ISO 3166-1 countries (groupings, sub-regions kept
# for other standards, test locales, "unknown").
_NOT_COUNTRIES = frozenset(
    {"AC", "CP", "CQ", "DG", "EA", "EU", "EZ", "IC", "QO", "TA", "UN", "XA", "XB", "ZZ"}
)


@lru_cache
def _countries(language: str) -> tuple[tuple[str, str], ...]:
    names = Locale.parse(language).territories
    found = [
        (code, name)
        for code, name in names.items()
        if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES
    ]
    return tuple(sorted(found, key=lambda pair: pair[1].casefold()))


@lru_cache
def _datetime_pattern(language: str) -> str:
    return str(Locale.parse(language).datetime_formats["medium"])


@dataclass(frozen=True)
class Viewer:
    """How one viewer reads: their language (and so the text direction) and their time zone."""

    language: str
    zone: ZoneInfo

    @property
    def direction(self) -> str:
        return Locale.parse(self.language).text_direction

    def gettext(self, message: str) -> str:
        return translations(self.language).gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return translations(self.language).ngettext(singular, plural, n)

    def datetime(self, value: dt.datetime, style: str = "medium") -> str:
        """``medium``: "Mon, Dec 7, 2026, 4:00 PM"; ``full`` spells the weekday and month out.
        Minutes, never seconds: people book sessions, not instants."""
        day = self.date(value.astimezone(self.zone).date(), style)
        pattern = _datetime_pattern(self.language)
        return pattern.replace("{1}", day).replace("{0}", self.time(value))

    def date(self, value: dt.date, style: str = "medium") -> str:
        """A calendar day: ``full`` "Monday, 7 December 2026", else "Mon, Dec 7, 2026"."""
        return _day(self.language, value, style)

    def countries(self) -> tuple[tuple[str, str], ...]:
        """Every country as (ISO 3166-1 code, name in this language), by name."""
        return _countries(self.language)

    def time(self, value: dt.datetime) -> str:
        local = value.astimezone(self.zone)
        return _clock(self.language, local.hour, local.minute)

    def zone_name(self) -> str:
        return str(self.zone.key)

    def money(self, cents: int, currency: str) -> str:
        """Minor units to the currency's own decimals (0 for JPY, 2 for EGP, …) in the locale."""
        return _money(self.language, cents, currency.upper())

    def rating(self, value: Decimal | float | None) -> str:
        """A star average to one decimal ("4.7") in the locale's digits."""
        return format_decimal(Decimal(str(value or 0)), "0.0", locale=self.language)
