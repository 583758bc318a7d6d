"""The language of a chunk or a question, from the script of its letters, and the PostgreSQL
text-search configuration that indexes it.

Study materials in this market are English, Arabic, or both on one page (an Arabic lecture that
keeps the English terms). Telling them apart needs no model: Arabic is the only language written
in the Arabic script that the materials use, and what decides the tokenizer is the script of each
word, not the name of the language. So the share of Arabic letters among all letters is counted:

- ``en``: no Arabic letter at all; indexed with PostgreSQL's ``english`` configuration, exactly
  as before languages were told apart.
- ``ar``: at least ``ARABIC_SHARE`` of the letters are Arabic; ``mixed``: any Arabic letter
  below that share. Both are indexed with ``arabic_english`` (migration 0020): PostgreSQL's
  ``arabic`` Snowball stemmer for words holding non-ASCII letters (it folds the hamza forms of
  alef, drops diacritics and tatweel, strips the article and common affixes) and ``english`` for
  ASCII words, so the English terms of an Arabic text stem as they do in English notes and a
  question in either language reaches both.

A question is turned into lexemes with the configuration of its own script, so an English
question is treated exactly as before and an Arabic or mixed one meets Arabic chunks' lexemes.
"""

from __future__ import annotations

from typing import Literal

__all__ = [
    "ARABIC_SHARE",
    "Language",
    "arabic_share",
    "detect_language",
    "text_search_config",
]

Language = Literal["en", "ar", "mixed"]

# Above this share of Arabic letters a chunk is Arabic with a few Latin terms; the label is for
# people and statistics, both kinds are indexed alike.
ARABIC_SHARE = 0.8

# The Arabic blocks: Arabic, Arabic Supplement, Arabic Extended-A/B, and the presentation forms
# a PDF's text layer may hold (shaped glyphs mapped back to characters).
_ARABIC_RANGES = (
    (0x0600, 0x06FF),
    (0x0750, 0x077F),
    (0x0870, 0x08FF),
    (0xFB50, 0xFDFF),
    (0xFE70, 0xFEFF),
)


def _is_arabic(char: str) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in _ARABIC_RANGES)


def arabic_share(text: str) -> float:
    """Arabic letters over all letters (0 for a text without letters)."""
    arabic = letters = 0
    for char in text:
        if char.isalpha():
            letters += 1
            arabic += _is_arabic(char)
    return arabic / letters if letters else 0.0


def detect_language(text: str) -> Language:
    share = arabic_share(text)
    if share == 0.0:
        return "en"
    return "ar" if share >= ARABIC_SHARE else "mixed"


def text_search_config(language: str | None) -> str:
    """The PostgreSQL configuration for text of ``language`` (``None``: stored before languages
    were detected, always English)."""
    return "arabic_english" if language in ("ar", "mixed") else "english"
