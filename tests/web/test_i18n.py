"""Every message of the web app is in every catalogue, and formats follow the viewer."""

from __future__ import annotations

from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from studyhall.web.i18n import LANGUAGES, Viewer

WEB = Path(str(files("studyhall.web")))


def source_messages() -> set[str]:
    found = extract_from_dir(
        str(WEB),
        method_map=[("**.py", "python"), ("**/templates/**.html", "jinja2")],
        keywords={"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)},
    )
    return {message if isinstance(message, str) else message[0] for _, _, message, _, _ in found}


def test_every_message_in_the_pages_has_an_arabic_translation() -> None:
    messages = source_messages()
    assert "Create an account" in messages and len(messages) > 100
    for language in LANGUAGES:
        if language == "en":
            continue
        path = WEB / "locales" / language / "LC_MESSAGES" / "messages.po"
        with path.open("rb") as source:
            catalog = read_po(source, locale=language)
        translated = {
            m.id if isinstance(m.id, str) else m.id[0]  # a plural is named by its singular
            for m in catalog
            if m.id and m.string and all(m.string) and not m.fuzzy
        }
        assert not sorted(messages - translated), f"untranslated in {language}"


def test_times_and_money_follow_the_viewers_language_and_zone() -> None:
    late_evening_utc = datetime(2026, 12, 7, 23, 0, tzinfo=UTC)
    english = Viewer("en", ZoneInfo("Africa/Cairo"))
    assert english.datetime(late_evening_utc) == "Tue, Dec 8, 2026, 1:00\u202fAM"
    assert english.money(25_000, "USD") == "$250.00"
    assert english.money(500, "JPY") == "¥500"
    arabic = Viewer("ar", ZoneInfo("America/New_York"))
    assert arabic.direction == "rtl"
    assert "7 ديسمبر" in arabic.datetime(late_evening_utc, "full")
    assert "ج.م.‏" in arabic.money(12_550, "EGP") and "125.50" in arabic.money(12_550, "EGP")
