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
        local_date = value.astimezone(self.zone).date()
        if style == "full":
            day = format_date(local_date, "full", locale=self.language)
        else:
            day = format_skeleton("yMMMEd", local_date, locale=self.language)
        pattern = str(Locale.parse(self.language).datetime_formats["medium"])
        return pattern.replace("{1}", day).replace("{0}", self.time(value))

    def time(self, value: dt.datetime) -> str:
        return format_time(value, "short", tzinfo=self.zone, locale=self.language)

    def zone_name(self) -> str:
        return str(self.zone.key)

    def money(self, cents: int, currency: str) -> str:
        """Minor units to the currency's own decimals (0 for JPY, 2 for EGP, …) in the locale."""
        code = currency.upper()
        amount = Decimal(cents).scaleb(-get_currency_precision(code))
        return format_currency(amount, code, locale=self.language)

    def rating(self, value: Decimal | float | None) -> str:
        """A star average to one decimal ("4.7") in the locale's digits."""
        return format_decimal(Decimal(str(value or 0)), "0.0", locale=self.language)
