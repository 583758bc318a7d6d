"""Model answers held to their sources, sentence by sentence.

A model cites in whatever syntax it likes: ``[2]``, ``[1, 2]``, ``[S1]``, ``[Source 3]``,
``[1-3]``, the chunk's id in brackets, ``【2†source】``. Every such marker is rewritten to ``[n]``
(``n`` the 1-based position of a retrieved chunk) or removed when it names nothing retrieved.
Then a sentence stays only if it keeps at least one marker: a claim whose invented citation was
removed is not left standing uncited.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from studyhall.study.engine.sentences import split_sentences

__all__ = ["Grounded", "SentenceGate", "ground", "normalise_markers"]

_BRACKETED = re.compile(r"\[([^\[\]\n]{1,300})\]")
_LENTICULAR = re.compile(r"【([^【】\n]{1,300})】")
_PARENTHESISED = re.compile(
    r"\(((?:source|src|s)\s*[:#]?\s*\d{1,3}(?:\s*[,;]\s*(?:(?:source|src|s)\s*[:#]?\s*)?\d{1,3})*)\)",
    re.IGNORECASE,
)
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
_LABELLED = re.compile(
    r"(?:s|source|src|sources|chunk|doc|document|ref|passage)?\s*[:#]?\s*(\d{1,3})"
    r"(?:\s*[-\u2013]\s*(\d{1,3}))?",
    re.IGNORECASE,
)
_SEPARATORS = re.compile(r"\s*(?:[,;]|\band\b)\s*", re.IGNORECASE)
_MARKER = re.compile(r"\[(\d{1,3})\]")
# A marker run written after the full stop belongs to the sentence before it.
_TRAILING_MARKERS = re.compile(r"([.!?]['\"\u201d\u2019)]?)((?:[ \t]*\[\d{1,3}\])+)")
_SPACE_BEFORE_PUNCT = re.compile(r"[ \t]+([.,;:!?])")


def _token_markers(token: str, chunk_ids: Sequence[str]) -> list[int] | None:
    """The source numbers one citation token names (maybe none valid), or None when the token is
    not citation syntax at all (ordinary bracketed text such as ``[sic]``)."""
    token = token.strip().strip("†").strip()
    uuid_match = _UUID.fullmatch(token.removeprefix("chunk").strip(" :#"))
    if uuid_match:
        lowered = [cid.lower() for cid in chunk_ids]
        value = uuid_match.group(0).lower()
        return [lowered.index(value) + 1] if value in lowered else []
    labelled = _LABELLED.fullmatch(token)
    if not labelled:
        return None
    first = int(labelled.group(1))
    last = int(labelled.group(2) or first)
    numbers = range(first, last + 1) if 0 < last - first < 20 else [first]
    return [n for n in numbers if 1 <= n <= len(chunk_ids)]


def _group_markers(content: str, chunk_ids: Sequence[str]) -> str | None:
    # Inside 【…】 the part after † is a label ("source"), not a second citation.
    tokens = [t for t in _SEPARATORS.split(content.split("†")[0]) if t.strip()]
    found: list[int] = []
    for token in tokens:
        numbers = _token_markers(token, chunk_ids)
        if numbers is None:
            return None
        found += numbers
    return "".join(f"[{n}]" for n in dict.fromkeys(found))


def normalise_markers(text: str, chunk_ids: Sequence[str]) -> str:
    """Every citation syntax rewritten to ``[n]`` naming a retrieved chunk, or removed."""

    def replace(match: re.Match[str]) -> str:
        markers = _group_markers(match.group(1), chunk_ids)
        return match.group(0) if markers is None else markers

    text = _LENTICULAR.sub(replace, text)
    text = _PARENTHESISED.sub(replace, text)
    text = _BRACKETED.sub(replace, text)
    text = _TRAILING_MARKERS.sub(lambda m: m.group(2).strip() + m.group(1), text)
    text = re.sub(r"([^\s\]])(\[\d{1,3}\])", r"\1 \2", text)
    return _SPACE_BEFORE_PUNCT.sub(r"\1", re.sub(r"[ \t]{2,}", " ", text))


@dataclass
class Grounded:
    """The sentences that cite a retrieved chunk, their markers, and how many were dropped."""

    text: str
    markers: list[int] = field(default_factory=list)
    dropped: int = 0


def _sentences(text: str) -> list[str]:
    return [text[start:end].strip() for start, end in split_sentences(text)]


def _keep(sentences: Sequence[str]) -> Grounded:
    kept: list[str] = []
    markers: list[int] = []
    for sentence in sentences:
        cited = [int(n) for n in _MARKER.findall(sentence)]
        if cited and _MARKER.sub("", sentence).strip(" .,;:!?"):
            kept.append(sentence)
            markers += cited
    return Grounded(" ".join(kept), list(dict.fromkeys(markers)), len(sentences) - len(kept))


def ground(text: str, chunk_ids: Sequence[str]) -> Grounded:
    """The answer reduced to sentences that each cite a retrieved chunk."""
    return _keep(_sentences(normalise_markers(text, chunk_ids)))


class SentenceGate:
    """Lets streamed text through only once its sentence is complete and grounded.

    Each delta is added to the whole reply so far; every sentence but the last (which may still
    grow, or receive its citation) is normalised and checked, and what the checked prefix adds
    is released. ``finish`` checks the last sentence too and says whether the released text is
    still a prefix of the final answer (if it is not, the client must be sent a ``replace``).
    """

    def __init__(self, chunk_ids: Sequence[str]) -> None:
        self._chunk_ids = list(chunk_ids)
        self._raw = ""
        self.released = ""

    def _release(self, checked: str) -> str:
        if not checked.startswith(self.released):
            return ""
        delta = checked[len(self.released) :]
        self.released = checked
        return delta

    def feed(self, delta: str) -> str:
        self._raw += delta
        sentences = _sentences(normalise_markers(self._raw, self._chunk_ids))
        return self._release(_keep(sentences[:-1]).text)

    def finish(self) -> tuple[Grounded, bool]:
        """The grounded answer, and True when the released text is not a prefix of it."""
        final = ground(self._raw, self._chunk_ids)
        return final, not final.text.startswith(self.released)
