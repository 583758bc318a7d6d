"""Offline flashcards and multiple-choice questions built from key phrases.

Cards and questions quote a source sentence verbatim, so the answer is provably in the cited
chunk; distractors are other key phrases of the same material, so they are plausible in
context without any model.
"""

from __future__ import annotations

import random
import re
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from studyhall.study.engine.chunk import Passage
from studyhall.study.engine.keyphrases import extract_keyphrases
from studyhall.study.engine.lexical import STOPWORDS, stem, words
from studyhall.study.engine.schemas import BLANK, Flashcard, QuizOption, QuizQuestion
from studyhall.study.engine.summarize import (
    SourceSentence,
    quotable_sentences,
    source_sentences,
)

__all__ = ["generate_flashcards", "generate_questions"]

PhraseType = Literal["number", "name", "term"]

# Sentences shorter than this give too little context to recall the blank; longer ones make
# unreadable cards.
_MIN_WORDS, _MAX_WORDS = 8, 50


@dataclass(frozen=True, slots=True)
class _Phrase:
    surface: str
    """How the phrase is usually written in the material (mid-sentence casing preferred)."""
    stems: tuple[str, ...]
    kind: PhraseType
    rank: int


@dataclass(frozen=True, slots=True)
class _Cloze:
    phrase: _Phrase
    sentence: SourceSentence
    front: str
    answer: str
    """The phrase exactly as written in the cited sentence."""


def _pattern(phrase: str) -> re.Pattern[str]:
    parts = [re.escape(part) for part in phrase.split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(parts) + r"(?!\w)", re.IGNORECASE)


def _content_stems(text: str) -> set[str]:
    return {stem(token) for token in words(text) if token not in STOPWORDS}


def _contains(haystack: Sequence[str], needle: Sequence[str]) -> bool:
    n = len(needle)
    return n > 0 and any(tuple(haystack[i : i + n]) == tuple(needle) for i in range(len(haystack)))


_HONORIFICS = frozenset(["mr", "mrs", "ms", "dr", "prof", "sir", "dame"])
_WORD_BEFORE = re.compile(r"([\w'\u2019.-]+)\s+$")
_WORD_AFTER = re.compile(r"\s+([\w'\u2019-]+)")


def _whole_name(text: str, start: int, end: int) -> bool:
    """False when a capitalised word touches the match: "Liam [Fox]", "[Tory Treasurer Lord]
    Ashcroft" are parts of longer names, and blanking them tests half a name."""
    before = _WORD_BEFORE.search(text, max(0, start - 40), start)
    if before:
        word = before.group(1)
        if word[0].isupper() and word.rstrip(".").casefold() not in _HONORIFICS:
            return False
    after = _WORD_AFTER.match(text, end)
    return not (after and after.group(1)[0].isupper())


def _same_case(found: str, surface: str, start: int) -> bool:
    """Matching ignores case, but "World" in "World Championship" is not the term "world"."""
    found = " ".join(found.split())
    if start == 0:
        return found[1:] == surface[1:]
    return found == surface


def _squash(text: str) -> str:
    return "".join(words(text))


def _kind(surface: str) -> PhraseType:
    if any(ch.isdigit() for ch in surface):
        return "number"
    if all(word[0].isupper() for word in surface.split() if word[0].isalpha()):
        return "name"
    return "term"


def _phrases(sentences: Sequence[SourceSentence], top: int) -> list[_Phrase]:
    """Key phrases with their usual spelling, kept only where they stand on their own.

    A phrase that only ever occurs inside a longer key phrase ("Exchange Commission" inside
    "Securities Exchange Commission") is a fragment, not a concept, and makes a giveaway
    distractor.
    """
    text = "\n".join(sentence.text for sentence in sentences)
    raw_phrases = extract_keyphrases(text, top=top)
    spans: dict[str, list[tuple[int, int, int]]] = {}
    for raw in raw_phrases:
        pattern = _pattern(raw)
        spans[raw] = [
            (sentence.position, match.start(), match.end())
            for sentence in sentences
            for match in pattern.finditer(sentence.text)
        ]
    by_sentence = {sentence.position: sentence.text for sentence in sentences}
    result: list[_Phrase] = []
    for rank, raw in enumerate(raw_phrases):
        longer = [
            span
            for other in raw_phrases
            if len(other.split()) > len(raw.split())
            for span in spans[other]
        ]
        forms: Counter[str] = Counter()
        initial: Counter[str] = Counter()
        is_name = _kind(raw) == "name"
        for position, start, end in spans[raw]:
            if any(p == position and s <= start and end <= e for p, s, e in longer):
                continue
            if is_name and not _whole_name(by_sentence[position], start, end):
                continue
            form = by_sentence[position][start:end]
            (initial if start == 0 else forms)[form] += 1
        counts = forms or initial
        if not counts:
            continue
        surface = " ".join(counts.most_common(1)[0][0].split()).rstrip("'\u2019")
        stems = tuple(stem(token) for token in words(surface))
        result.append(_Phrase(surface, stems, _kind(surface), rank))
    return result


def _clozes(sentences: Sequence[SourceSentence], phrases: Sequence[_Phrase]) -> list[_Cloze]:
    """One cloze per phrase on the first unused sentence that hides it completely."""
    used: set[int] = set()
    taken: list[tuple[str, ...]] = []
    result: list[_Cloze] = []
    for phrase in phrases:
        # "Warner" after "Time Warner" would test the same fact twice.
        if any(_contains(phrase.stems, t) or _contains(t, phrase.stems) for t in taken):
            continue
        pattern = _pattern(phrase.surface)
        for sentence in sentences:
            text = sentence.text
            if sentence.position in used or not _MIN_WORDS <= len(words(text)) <= _MAX_WORDS:
                continue
            match = pattern.search(text)
            if match is None or not _same_case(match.group(), phrase.surface, match.start()):
                continue
            if phrase.kind == "name" and not _whole_name(text, match.start(), match.end()):
                continue
            front = pattern.sub(BLANK, text)
            front_stems = [stem(token) for token in words(front)]
            # A plural or other inflection left in the sentence would give the answer away.
            if _contains(front_stems, phrase.stems):
                continue
            used.add(sentence.position)
            taken.append(phrase.stems)
            result.append(_Cloze(phrase, sentence, front, " ".join(match.group().split())))
            break
    return result


@lru_cache(maxsize=4)
def _material(
    passages: tuple[Passage, ...], top: int
) -> tuple[tuple[SourceSentence, ...], tuple[_Phrase, ...]]:
    # Cached because a material's cards and quiz are usually generated back to back and key
    # phrase extraction is most of the cost; inputs are immutable, so the cache is safe.
    everything = source_sentences(passages)
    return tuple(quotable_sentences(everything)), tuple(_phrases(everything, top))


def generate_flashcards(passages: Sequence[Passage], max_cards: int = 10) -> list[Flashcard]:
    """Cloze cards: a source sentence with one key phrase blanked; best phrases first."""
    if max_cards < 1:
        return []
    sentences, phrases = _material(tuple(passages), top=max(30, 3 * max_cards))
    return [
        Flashcard(front=c.front, back=c.answer, citations=[c.sentence.citation()])
        for c in _clozes(sentences, phrases)[:max_cards]
    ]


def _distractors(answer: _Phrase, stem_text: str, pool: Sequence[_Phrase]) -> list[_Phrase]:
    """Three phrases of the answer's kind and length that share no content word with it,
    with each other, or with the question (an option named in the stem is obviously wrong)."""
    blocked = set(answer.stems) | _content_stems(stem_text)
    squashed = [_squash(answer.surface)]

    def fit(candidate: _Phrase) -> tuple[int, int, float, int]:
        return (
            candidate.kind != answer.kind,
            abs(len(candidate.stems) - len(answer.stems)),
            round(abs(len(candidate.surface) - len(answer.surface)) / len(answer.surface), 1),
            candidate.rank,
        )

    chosen: list[_Phrase] = []
    for candidate in sorted(pool, key=fit):
        if (candidate.kind == "number") != (answer.kind == "number"):
            continue
        if blocked & set(candidate.stems):
            continue
        # "Warner" is part of "TimeWarner" although they share no whole word.
        flat = _squash(candidate.surface)
        if any(flat in other or other in flat for other in squashed):
            continue
        chosen.append(candidate)
        blocked |= set(candidate.stems)
        squashed.append(flat)
        if len(chosen) == 3:
            return chosen
    return []


def generate_questions(passages: Sequence[Passage], max_questions: int = 5) -> list[QuizQuestion]:
    """Multiple-choice questions: complete a source sentence; options are key phrases."""
    if max_questions < 1:
        return []
    sentences, phrases = _material(tuple(passages), top=max(30, 6 * max_questions))
    questions: list[QuizQuestion] = []
    for cloze in _clozes(sentences, phrases):
        distractors = _distractors(cloze.phrase, cloze.front, phrases)
        if not distractors:
            continue
        # Every option in the material's usual spelling, so case does not mark the answer.
        options = [QuizOption(text=cloze.phrase.surface, correct=True)]
        options += [QuizOption(text=d.surface, correct=False) for d in distractors]
        # Deterministic shuffle: regenerating the same material gives the same quiz.
        random.Random(zlib.crc32(cloze.front.encode())).shuffle(options)
        questions.append(
            QuizQuestion(
                stem=cloze.front,
                options=options,
                explanation=cloze.sentence.text,
                citations=[cloze.sentence.citation()],
            )
        )
        if len(questions) == max_questions:
            break
    return questions
