"""Offline flashcards and multiple-choice questions built from key phrases.

Cards and questions quote a source sentence verbatim, so the answer is provably in the cited
chunk; distractors are other key phrases of the same material, so they are plausible in
context without any model.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from studyhall.study.engine.chunk import Passage
from studyhall.study.engine.figures import figure_options
from studyhall.study.engine.keyphrases import Occurrence, key_phrases
from studyhall.study.engine.lexical import STOPWORDS, stem, words
from studyhall.study.engine.lexicon import synonyms
from studyhall.study.engine.schemas import BLANK, Flashcard, QuizOption, QuizQuestion
from studyhall.study.engine.summarize import (
    SourceSentence,
    quotable_sentences,
    source_sentences,
)

__all__ = ["generate_flashcards", "generate_questions"]

# Sentences shorter than this give too little context to recall the blank; longer ones make
# unreadable cards.
_MIN_WORDS, _MAX_WORDS = 8, 50


@dataclass(frozen=True, slots=True)
class _Phrase:
    surface: str
    """How the phrase is usually written in the material (mid-sentence casing preferred)."""
    stems: tuple[str, ...]
    kind: str
    category: str
    plural: bool
    modified: bool
    rank: int
    occurrences: tuple[Occurrence, ...]
    """Where the material uses it as a whole noun phrase; only these places are blanked."""


@dataclass(frozen=True, slots=True)
class _Cloze:
    phrase: _Phrase
    sentence: SourceSentence
    front: str
    answer: str
    """The phrase exactly as written in the cited sentence."""
    before: str | None
    """Stem of the content word just before the blank, if any."""
    after: str | None


def _content_stems(text: str) -> set[str]:
    return {stem(token) for token in words(text) if token not in STOPWORDS}


def _contains(haystack: Sequence[str], needle: Sequence[str]) -> bool:
    n = len(needle)
    return n > 0 and any(tuple(haystack[i : i + n]) == tuple(needle) for i in range(len(haystack)))


def _squash(text: str) -> str:
    return "".join(words(text))


def _phrases(sentences: Sequence[SourceSentence], top: int) -> list[_Phrase]:
    found = key_phrases([sentence.text for sentence in sentences])[:top]
    return [
        _Phrase(
            p.surface, p.stems, p.kind, p.category, p.plural, p.modified, rank, tuple(p.occurrences)
        )
        for rank, p in enumerate(found)
    ]


def _neighbours(text: str, start: int, end: int) -> tuple[str | None, str | None]:
    """Stems of the nearest content words on each side of a span."""
    before = [w for w in words(text[:start]) if w not in STOPWORDS]
    after = [w for w in words(text[end:]) if w not in STOPWORDS]
    return (stem(before[-1]) if before else None, stem(after[0]) if after else None)


def _clozes(
    sentences: Sequence[SourceSentence],
    quotable: Sequence[SourceSentence],
    phrases: Sequence[_Phrase],
) -> list[_Cloze]:
    """One cloze per phrase on the first unused quotable sentence where it is a whole phrase."""
    usable = {s.position for s in quotable if _MIN_WORDS <= len(words(s.text)) <= _MAX_WORDS}
    taken: list[tuple[str, ...]] = []
    result: list[_Cloze] = []
    # First one cloze per sentence, best phrases first; then, for short materials, a second
    # round blanks another phrase of an already used sentence, so more of its facts are asked.
    for fresh_only in (True, False):
        used = {cloze.sentence.position for cloze in result} if fresh_only else set()
        for phrase in phrases:
            # "Warner" after "Time Warner" would test the same fact twice.
            if any(_contains(phrase.stems, t) or _contains(t, phrase.stems) for t in taken):
                continue
            cloze = _first_cloze(sentences, phrase, usable - used)
            if cloze is not None:
                used.add(cloze.sentence.position)
                taken.append(phrase.stems)
                result.append(cloze)
    return result


def _first_cloze(
    sentences: Sequence[SourceSentence], phrase: _Phrase, usable: set[int]
) -> _Cloze | None:
    for occurrence in phrase.occurrences:
        if occurrence.sentence not in usable:
            continue
        sentence = sentences[occurrence.sentence]
        text = sentence.text
        front = text[: occurrence.start] + BLANK + text[occurrence.end :]
        # The same term (or an inflection of it) left in the sentence gives the answer away.
        if _contains([stem(token) for token in words(front)], phrase.stems):
            continue
        answer = " ".join(text[occurrence.start : occurrence.end].split())
        before, after = _neighbours(text, occurrence.start, occurrence.end)
        return _Cloze(phrase, sentence, front, answer, before, after)
    return None


@lru_cache(maxsize=4)
def _material(
    passages: tuple[Passage, ...], top: int
) -> tuple[tuple[SourceSentence, ...], tuple[SourceSentence, ...], tuple[_Phrase, ...]]:
    # Cached because a material's cards and quiz are usually generated back to back and key
    # phrase extraction is most of the cost; inputs are immutable, so the cache is safe.
    everything = source_sentences(passages)
    return (
        tuple(everything),
        tuple(quotable_sentences(everything)),
        tuple(_phrases(everything, top)),
    )


def generate_flashcards(passages: Sequence[Passage], max_cards: int = 10) -> list[Flashcard]:
    """Cloze cards: a source sentence with one key phrase blanked; best phrases first."""
    if max_cards < 1:
        return []
    sentences, quotable, phrases = _material(tuple(passages), top=max(30, 3 * max_cards))
    return [
        Flashcard(front=c.front, back=c.answer, citations=[c.sentence.citation()])
        for c in _clozes(sentences, quotable, phrases)[:max_cards]
    ]


def _near(a: str, b: str) -> bool:
    """Two forms of one word ("French" / "France", "Scotsman" / "Scotland"): the same first
    five letters, or at most two edits apart."""
    a, b = a.lower(), b.lower()
    if min(len(a), len(b)) >= 5 and a[:5] == b[:5]:
        return True
    if min(len(a), len(b)) < 5 or abs(len(a) - len(b)) > 2:
        return a == b
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        current = [i]
        for j, y in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1] <= 2


# Kinds too loose to choose wrong options by ("self-belief" among "gold medal", "top spot",
# "ankle injury"; "Microsoft Outlook" among "Merry Christmas", "South America"; a place that may
# be a city or a country): such an answer makes a card, never a question.
_VAGUE = frozenset(["unknown", "abstract", "word", "place"])


def _same_type(candidate: _Phrase, answer: _Phrase, *, lenient: bool = False) -> bool:
    """The candidate is of the answer's kind (a figure's options are the figure changed): a person
    with people, a country with countries, a city with cities, a company with companies, and
    names only with names of as many words ("Thoday" is no match for "Frank Capra"); a term
    with terms of the same kind of thing (device, substance, event, …) and the same number."""
    if candidate.kind != answer.kind:
        return False
    if answer.category in _VAGUE:
        return False
    unknown_term = candidate.kind == "term" and candidate.category == "unknown"
    if candidate.category != answer.category and not (lenient and unknown_term):
        # Only for a material with no fair question otherwise may a term WordNet does not know
        # (a technical term: "NADPH", "Rubisco") stand beside an answer of a known kind; an
        # unknown name never does: it is as often a person as a place.
        return False
    if answer.kind == "name":
        # "Britons" is no match for "Britain", nor "Thoday" for "Frank Capra".
        return len(candidate.stems) == len(answer.stems) and candidate.plural == answer.plural
    # A plural answer with a singular option (or the reverse) is ruled out by grammar; an
    # option opened by an adjective the answer lacks ("credible picture" for "book") reads as
    # a phrase lifted from another sentence, not as a term.
    return candidate.plural == answer.plural and (answer.modified or not candidate.modified)


def _true_in_source(candidate: _Phrase, cloze: _Cloze, sentences: Sequence[SourceSentence]) -> bool:
    """The candidate also completes the sentence: it is a synonym of the answer, or somewhere
    the material puts it next to the same content word as the blank ("cross the ____" ->
    bilayer, when the material also says molecules cross the membrane)."""
    answer = cloze.phrase.surface.lower()
    if candidate.surface.lower() in synonyms(answer) or answer in synonyms(candidate.surface):
        return True
    for occurrence in candidate.occurrences:
        text = sentences[occurrence.sentence].text
        before, after = _neighbours(text, occurrence.start, occurrence.end)
        if (before is not None and before == cloze.before) or (
            after is not None and after == cloze.after
        ):
            return True
    return False


def _distractors(
    cloze: _Cloze, pool: Sequence[_Phrase], sentences: Sequence[SourceSentence], *, lenient: bool
) -> list[_Phrase]:
    """Three key phrases of the answer's type that share no content word with it, with each
    other or with the question (an option named in the stem is obviously wrong), are not
    another spelling of any of them, and are not also a right answer according to the material.
    """
    answer = cloze.phrase
    blocked = set(answer.stems) | _content_stems(cloze.front)
    squashed = [_squash(answer.surface)]

    def fit(candidate: _Phrase) -> tuple[int, float, int]:
        return (
            abs(len(candidate.stems) - len(answer.stems)),
            round(abs(len(candidate.surface) - len(answer.surface)) / len(answer.surface), 1),
            candidate.rank,
        )

    chosen: list[_Phrase] = []
    for candidate in sorted(pool, key=fit):
        if not _same_type(candidate, answer, lenient=lenient) or blocked & set(candidate.stems):
            continue
        # "Warner" is part of "TimeWarner" although they share no whole word.
        flat = _squash(candidate.surface)
        if any(flat in other or other in flat or _near(flat, other) for other in squashed):
            continue
        if _true_in_source(candidate, cloze, sentences):
            continue
        chosen.append(candidate)
        blocked |= set(candidate.stems)
        squashed.append(flat)
        if len(chosen) == 3:
            return chosen
    return []


def _answer_option(cloze: _Cloze, source: str) -> str:
    """The answer in the material's usual spelling, like the distractors, so case does not mark
    it; inflected as the cited sentence has it when that differs ("profit", usually "profits");
    as cited when the usual spelling is written nowhere ("Andesite magma" opening a sentence)."""
    usual = cloze.phrase.surface
    if usual.lower() == cloze.answer.lower():
        return usual if usual in source else cloze.answer
    if usual[:1].islower():
        return cloze.answer[:1].lower() + cloze.answer[1:]
    return cloze.answer


def _wrong_options(
    cloze: _Cloze,
    pool: Sequence[_Phrase],
    sentences: Sequence[SourceSentence],
    source: str,
    *,
    lenient: bool = False,
) -> list[str]:
    """A figure gets changed versions of itself, or no question (another figure of the
    material with the same unit may measure something else: a long jump among races);
    anything else other key phrases."""
    if cloze.phrase.kind == "number":
        return figure_options(cloze.answer, source)
    return [phrase.surface for phrase in _distractors(cloze, pool, sentences, lenient=lenient)]


def _question(cloze: _Cloze, wrong: Sequence[str], source: str) -> QuizQuestion:
    options = [QuizOption(text=_answer_option(cloze, source), correct=True)]
    options += [QuizOption(text=text, correct=False) for text in wrong]
    # Deterministic shuffle: regenerating the same material gives the same quiz.
    random.Random(zlib.crc32(cloze.front.encode())).shuffle(options)
    return QuizQuestion(
        stem=cloze.front,
        options=options,
        explanation=cloze.sentence.text,
        citations=[cloze.sentence.citation()],
    )


def generate_questions(passages: Sequence[Passage], max_questions: int = 5) -> list[QuizQuestion]:
    """Multiple-choice questions: complete a source sentence; options are key phrases.

    A question is made only when three wrong options surely of the answer's kind exist (a
    figure always has them: itself changed); any other phrase is left to the cards, so a
    material may get fewer questions than asked. Only a material that would otherwise have no
    question at all lets a term WordNet does not know stand in for the answer's kind.
    """
    if max_questions < 1:
        return []
    sentences, quotable, phrases = _material(tuple(passages), top=max(30, 6 * max_questions))
    source = "\n".join(sentence.text for sentence in sentences)
    clozes = _clozes(sentences, quotable, phrases)
    for lenient in (False, True):
        questions: list[QuizQuestion] = []
        for cloze in clozes:
            if len(questions) == max_questions:
                break
            wrong = _wrong_options(cloze, phrases, sentences, source, lenient=lenient)
            if wrong:
                questions.append(_question(cloze, wrong, source))
        if questions:
            return questions
    return []
