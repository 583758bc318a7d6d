"""Split extracted blocks into overlapping, citable chunks.

A chunk never leaves its block, and a block is one page, one slide or one heading section, so
every chunk cites exactly one page or slide. Chunks end on sentence boundaries so that a
quoted sentence is never cut in half; only a single sentence longer than the budget is cut,
at whitespace.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from studyhall.study.engine.extract import Block
from studyhall.study.engine.sentences import split_sentences

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "DEFAULT_OVERLAP_TOKENS",
    "DEFAULT_TARGET_TOKENS",
    "Chunk",
    "Passage",
    "chunk_blocks",
    "count_tokens",
]

# Token estimate: every run of word characters and every other non-space character counts as
# one token. For English prose this lands within about 15 % of BPE tokenizers (which split
# rare words into pieces but merge a leading space into the word), which is all the sizing
# needs; no model-specific tokenizer file has to be shipped.
_TOKEN = re.compile(r"\w+|[^\w\s]")

DEFAULT_TARGET_TOKENS = 350
DEFAULT_MAX_TOKENS = 400
DEFAULT_OVERLAP_TOKENS = 50


def count_tokens(text: str) -> int:
    return len(_TOKEN.findall(text))


@dataclass(frozen=True, slots=True)
class Passage:
    """A stored chunk as the generators and the answerer see it.

    ``text`` is exactly what is stored and shown; citation offsets point into it.
    ``body_offset`` is where the content starts after the heading prefix.
    """

    id: str
    text: str
    body_offset: int = 0
    heading: str | None = None
    material_id: str | None = None
    page: int | None = None
    slide: int | None = None


@dataclass(frozen=True, slots=True)
class Chunk:
    index: int
    """Ordinal of the chunk within the material, from 0."""
    block_index: int
    text: str
    """Heading prefix (if any) + body; this is what gets indexed and stored."""
    body_offset: int
    start: int
    """Offset of the body in the block text: ``block.text[start:end] == body``."""
    end: int
    tokens: int
    page: int | None
    slide: int | None
    heading: str | None

    @property
    def body(self) -> str:
        return self.text[self.body_offset :]

    def to_passage(self, id: str | None = None, material_id: str | None = None) -> Passage:
        return Passage(
            id=str(self.index) if id is None else id,
            text=self.text,
            body_offset=self.body_offset,
            heading=self.heading,
            material_id=material_id,
            page=self.page,
            slide=self.slide,
        )


def _heading_prefix(heading: str | None, limit: int) -> str:
    """The heading line, shortened at a word boundary so it never eats the chunk budget."""
    if not heading:
        return ""
    heading = " ".join(heading.split())
    if count_tokens(heading) > limit:
        cut = 0
        for n, match in enumerate(_TOKEN.finditer(heading), start=1):
            if n > limit:
                break
            cut = match.end()
        heading = heading[:cut].rstrip()
    return heading


def _unit(text: str, start: int, end: int) -> tuple[int, int, int]:
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end, count_tokens(text[start:end])


def _units(text: str, budget: int) -> list[tuple[int, int, int]]:
    """Sentence spans with token counts; sentences over budget are cut at whitespace."""
    units: list[tuple[int, int, int]] = []
    for start, end in split_sentences(text):
        tokens = count_tokens(text[start:end])
        if tokens <= budget:
            units.append((start, end, tokens))
            continue
        piece_start, piece_tokens, last_cut = start, 0, -1
        for match in _TOKEN.finditer(text, start, end):
            after_space = match.start() > piece_start and text[match.start() - 1].isspace()
            if piece_tokens == budget:
                # Cut before this token if it starts a word, else at the last word start, so
                # words stay whole; only a single huge "word" is cut where it is.
                cut = match.start() if after_space or last_cut <= piece_start else last_cut
                units.append(_unit(text, piece_start, cut))
                piece_start = cut
                piece_tokens = count_tokens(text[piece_start : match.start()])
                last_cut, after_space = -1, False
            if after_space:
                last_cut = match.start()
            piece_tokens += 1
        if piece_start < end:
            units.append(_unit(text, piece_start, end))
    return units


def _pack(
    units: Sequence[tuple[int, int, int]], budget: int, target: int, overlap: int
) -> list[tuple[int, int]]:
    """Group unit indexes into [first, last) runs: near ``target`` tokens, never over ``budget``.

    The goal size is spread evenly over the chunks a block needs so that a block does not end
    in a tiny tail chunk. Consecutive runs share trailing units worth at most ``overlap``.
    """
    total = sum(u[2] for u in units)
    if total <= budget:
        return [(0, len(units))]
    stride = max(target - overlap, 1)
    n_chunks = max(1, math.ceil((total - overlap) / stride))
    goal = (total - overlap) / n_chunks + overlap
    runs: list[tuple[int, int]] = []
    first, size = 0, 0
    nxt = 0
    while True:
        fresh = nxt  # every run after the first must take at least one unit it does not share
        while nxt < len(units):
            tokens = units[nxt][2]
            closer_without = abs(size + tokens - goal) > abs(size - goal)
            if nxt > fresh and (size + tokens > budget or closer_without):
                break
            size += tokens
            nxt += 1
        runs.append((first, nxt))
        if nxt >= len(units):
            return runs
        # Start the next run with the trailing units that fit in the overlap, then drop from
        # the front until the next new unit fits.
        back, carried = nxt, 0
        while back - 1 > first and carried + units[back - 1][2] <= overlap:
            back -= 1
            carried += units[back][2]
        while back < nxt and carried + units[nxt][2] > budget:
            carried -= units[back][2]
            back += 1
        first, size = back, carried


def chunk_blocks(
    blocks: Iterable[Block],
    *,
    target_tokens: int = DEFAULT_TARGET_TOKENS,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    overlap_tokens: int = DEFAULT_OVERLAP_TOKENS,
) -> list[Chunk]:
    """Chunks of about ``target_tokens`` (at most ``max_tokens``, heading included).

    Neighbouring chunks of a block repeat up to ``overlap_tokens`` of whole sentences so a
    passage that straddles a cut can still be retrieved in one piece.
    """
    if not 0 < target_tokens <= max_tokens:
        raise ValueError("need 0 < target_tokens <= max_tokens")
    if not 0 <= overlap_tokens < target_tokens:
        raise ValueError("need 0 <= overlap_tokens < target_tokens")
    chunks: list[Chunk] = []
    for block_index, block in enumerate(blocks):
        heading = _heading_prefix(block.heading, max_tokens // 4)
        prefix = f"{heading}\n\n" if heading else ""
        head_tokens = count_tokens(heading)
        budget = max_tokens - head_tokens
        target = max(1, min(target_tokens, budget))
        units = _units(block.text, budget)
        if not units:
            continue
        for first, last in _pack(units, budget, target, min(overlap_tokens, target - 1)):
            start, end = units[first][0], units[last - 1][1]
            body = block.text[start:end]
            chunks.append(
                Chunk(
                    index=len(chunks),
                    block_index=block_index,
                    text=prefix + body,
                    body_offset=len(prefix),
                    start=start,
                    end=end,
                    tokens=head_tokens + count_tokens(body),
                    page=block.page,
                    slide=block.slide,
                    heading=block.heading,
                )
            )
    return chunks
