"""Arabic text taken from a PDF's text layer, put back in logical (reading) order.

A PDF paints glyphs left to right, so Arabic is stored in visual order, shaped: each letter in
the contextual form it takes. pypdf reverses each right-to-left run, which makes a purely
Arabic line read correctly, but a line that mixes directions keeps its runs in the order they
are painted: ``تعلم الآلة Machine Learning فرع`` comes out as ``فرع Machine Learning تعلم الآلة``.
In a right-to-left line (most of its letters Arabic) the runs are put back in reverse order; a
left-to-right line (an English sentence quoting an Arabic term) is already in reading order.
Shaped forms that a text layer maps to the Arabic presentation-form characters are folded to
the letters (NFKC on those characters only: other compatibility characters are left alone).
"""

from __future__ import annotations

import re
import unicodedata

from studyhall.study.engine.language import arabic_share

__all__ = ["logical_order"]

_ARABIC = "\u0600-\u06ff\u0750-\u077f\u0870-\u08ff\ufb50-\ufdff\ufe70-\ufeff"
_LATIN = "A-Za-z0-9\u00c0-\u024f"
_PRESENTATION_FORM = re.compile("[\ufb50-\ufdff\ufe70-\ufeff]")
# A run: strong characters of one direction and the neutrals between them (digits read left
# to right inside Arabic text, so they belong to the left-to-right runs). pypdf puts the
# punctuation that ends an Arabic run after it, so the run keeps it.
_RUN = re.compile(
    rf"[{_ARABIC}](?:[^{_LATIN}]*[{_ARABIC}])?[^\s{_LATIN}{_ARABIC}]*"
    rf"|[{_LATIN}](?:[^{_ARABIC}]*[{_LATIN}])?"
)
# In a left-to-right line pypdf moves the space that follows an Arabic word before it.
_SPACE_BEFORE_ARABIC = re.compile(
    rf"(\s)([{_ARABIC}][^{_LATIN}]*[{_ARABIC}]|[{_ARABIC}])(?=[{_LATIN}])"
)
_SPACE_BEFORE_PUNCTUATION = re.compile(r" +(?=[.,:;!?)\]\u060c\u061b\u061f])")


def _fold_presentation_forms(text: str) -> str:
    return _PRESENTATION_FORM.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)


def _logical_line(line: str) -> str:
    if arabic_share(line) < 0.5:
        return _SPACE_BEFORE_ARABIC.sub(r"\2\1", line)
    # The runs and the gaps between them (spaces, punctuation painted leftmost) all go back in
    # reverse order, one space between two pieces.
    runs = _RUN.findall(line)
    gaps = _RUN.split(line)
    pieces = [gaps[0]]
    for run, gap in zip(runs, gaps[1:], strict=True):
        pieces += [run, gap]
    ordered = " ".join(" ".join(piece.split()) for piece in reversed(pieces) if piece.strip())
    return _SPACE_BEFORE_PUNCTUATION.sub("", ordered)


def logical_order(text: str) -> str:
    """``text`` from a PDF text layer with its Arabic lines in reading order."""
    text = _fold_presentation_forms(text)
    return "\n".join(_logical_line(line) for line in text.split("\n"))
