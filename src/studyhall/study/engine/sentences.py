"""Rule-based sentence splitting that returns character spans.

Spans (not strings) are returned because every caller needs offsets for citations. The rules
cover what study material contains: abbreviations and titles ("Dr. Smith", "e.g."), initials
("J. K. Rowling"), dotted acronyms ("U.S."), decimals and prices ("$1.13bn"), quoted speech
('"Really?" he asked.'), bullet lists and headings on their own lines (slides, PDFs).
"""

from __future__ import annotations

import re

__all__ = ["split_sentences"]

# Abbreviations that are practically never the last word of a sentence: a following capital
# is a name or a noun ("Dr. Watson", "Fig. 3", "e.g. Paris").
_NEVER_FINAL = frozenset(
    """
    mr mrs ms dr prof sr jr st mt gen gov sen rep rev hon col lt capt sgt cmdr adm maj pres
    fig figs eq eqs vol vols no nos pp ch sec approx dept est cf vs v e.g i.e viz ca op
    """.split()  # noqa: SIM905 - a word list reads best as text
)

# Abbreviations that often end a sentence too ("... bought by Apple Inc. The deal ...").
# After these we only split when the next word is a typical sentence opener.
_MAYBE_FINAL = frozenset(
    """
    inc ltd co corp plc bros etc al jan feb mar apr jun jul aug sep sept oct nov dec
    mon tue wed thu fri sat sun a.m p.m u.s u.k u.n e.u
    """.split()  # noqa: SIM905 - a word list reads best as text
)

_OPENERS = frozenset(
    """
    a an the it its he she they we i you this that these those there here his her their our my
    but and however in on at for as if when while after before since although though yet so
    then also meanwhile moreover furthermore still thus hence instead one some many most
    all no not what who why how where which
    """.split()  # noqa: SIM905 - a word list reads best as text
)

_TERMINAL = re.compile(r"[.!?…]+[\"'”\u2019»)\]]*(?=\s|$)")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")
_BULLET_START = re.compile(r"[ \t]*(?:[-*•◦▪‣·\u2013]|\d{1,3}[.)]|[a-zA-Z][)])\s")
_NON_SPACE = re.compile(r"\S")
_WORD_BEFORE = re.compile(r"([\w.]+)\.$")
_NEXT_WORD = re.compile(r"[\"'“\u2018«(\[]*([\w'\u2019]+)")

# A line this short without closing punctuation that is followed by a capitalised line is a
# heading or a slide bullet, not a wrapped sentence: wrapped PDF lines are longer than this.
_SHORT_LINE = 60


def _is_boundary(text: str, punct_start: int, punct_end: int, next_start: int) -> bool:
    punct = text[punct_start:punct_end].rstrip("\"'”\u2019»)]")
    next_match = _NEXT_WORD.match(text, next_start)
    if next_match is None:
        # Symbols, bullets, emoji: nothing that continues a sentence.
        return True
    next_word = next_match.group(1)
    first = next_word[0]
    if first.islower():
        # "Really?" he asked. / approx. three / e.g. something
        return False
    if punct != ".":
        return True
    before = _WORD_BEFORE.search(text, max(0, punct_start - 40), punct_start + 1)
    if before is None:
        return True
    word = before.group(1).lower()
    if word in _NEVER_FINAL:
        return False
    opener = next_word.lower() in _OPENERS
    if word in _MAYBE_FINAL:
        return opener
    if len(word) == 1 and word.isalpha() and before.group(1).isupper():
        # An initial: "J. K. Rowling", "George W. Bush".
        return opener
    if re.fullmatch(r"(?:[a-z]\.)+[a-z]", word):
        # Dotted acronym other than the listed ones ("U.S.A.", "Ph.D.").
        return opener
    return True


def _after_heading(previous: str, next_char: str) -> bool:
    return (
        len(previous) <= _SHORT_LINE
        and previous[-1] not in ",;:-\u2013(&/"
        and (next_char.isupper() or next_char.isdigit())
    )


def _line_breaks(text: str, start: int, end: int) -> list[int]:
    """Positions after single newlines that start a new unit (bullet, or after a heading)."""
    cuts: list[int] = []
    pos = text.find("\n", start, end)
    while pos != -1:
        line_start = text.rfind("\n", start, pos) + 1
        line_start = max(line_start, start)
        previous = text[line_start:pos].rstrip()
        following = _NON_SPACE.search(text, pos + 1, end)
        if (
            previous
            and following
            and (
                _BULLET_START.match(text, pos + 1, end)
                or _after_heading(previous, text[following.start()])
            )
        ):
            cuts.append(pos + 1)
        pos = text.find("\n", pos + 1, end)
    return cuts


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def _split_paragraph(text: str, start: int, end: int) -> list[tuple[int, int]]:
    cuts = set(_line_breaks(text, start, end))
    for match in _TERMINAL.finditer(text, start, end):
        next_start = match.end()
        while next_start < end and text[next_start].isspace():
            next_start += 1
        if next_start >= end:
            continue
        if _is_boundary(text, match.start(), match.end(), next_start):
            cuts.add(match.end())
    spans: list[tuple[int, int]] = []
    previous = start
    for cut in sorted(cuts):
        span = _trim(text, previous, cut)
        if span:
            spans.append(span)
        previous = cut
    span = _trim(text, previous, end)
    if span:
        spans.append(span)
    return spans


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence spans (start, end) of ``text[start:end]``, whitespace trimmed, in order.

    A blank line always ends a sentence; a single newline only does before a bullet or after a
    short unpunctuated line (a heading), because PDF text wraps sentences across lines.
    """
    stop = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    previous = start
    for match in _PARAGRAPH_BREAK.finditer(text, start, stop):
        spans.extend(_split_paragraph(text, previous, match.start()))
        previous = match.end()
    spans.extend(_split_paragraph(text, previous, stop))
    return spans
