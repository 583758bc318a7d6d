"""Key phrases of a material: YAKE, with a RAKE-style fallback.

YAKE is statistical and needs no model files, but it is third-party code run on arbitrary
uploads; if it fails for any reason a simpler in-house method keeps artifact generation going.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable

from studyhall.study.engine.lexical import STOPWORDS, stem, words
from studyhall.study.engine.sentences import split_sentences

__all__ = ["extract_keyphrases", "rake_keyphrases", "yake_keyphrases"]

logger = logging.getLogger(__name__)

# Words that YAKE and RAKE both surface in news and textbook prose but that make poor study
# prompts on their own: reporting verbs and vague nouns.
_WEAK = frozenset(
    """
    said says say told according also would could year years time times people thing things
    way ways lot lots part new one two first last many much well like just make made get got
    """.split()  # noqa: SIM905 - a word list reads best as text
)
_PHRASE_SPLIT = re.compile(r"[^\w\s'\u2019&-]+|\s[-\u2013]\s")


def _key(phrase: str) -> tuple[str, ...]:
    return tuple(stem(token) for token in words(phrase))


def _acceptable(phrase: str) -> bool:
    tokens = words(phrase)
    if not tokens or len(phrase) < 3:
        return False
    if tokens[0] in STOPWORDS or tokens[-1] in STOPWORDS:
        return False
    content = [t for t in tokens if t not in STOPWORDS]
    if not content or all(t in _WEAK for t in content):
        return False
    if len(tokens) == 1 and phrase.islower() and len(phrase) >= 6 and phrase.endswith("ed"):
        # A lone past participle ("enclosed", "reported") is a verb form, not a concept.
        return False
    # Phrases with an inner stopword ("impatient and quicker") are rarely a single concept.
    if len(content) != len(tokens):
        return False
    # Without a tagger, case is the best phrase-boundary signal in English: a name is all
    # capitalised ("Time Warner"), a term all lower case ("quarter profits"); a mix usually
    # straddles a name and the verb or noun next to it ("boost Time Warner").
    cases = {word[0].isupper() for word in phrase.split() if word[0].isalpha()}
    return len(cases) <= 1


def _clean(phrases: list[str], top: int) -> list[str]:
    """Acceptable phrases, one per stemmed form ("call centre" == "call centres"), best first."""
    seen: set[tuple[str, ...]] = set()
    result: list[str] = []
    for phrase in phrases:
        phrase = " ".join(phrase.split())
        key = _key(phrase)
        if not _acceptable(phrase) or key in seen:
            continue
        seen.add(key)
        result.append(phrase)
        if len(result) >= top:
            break
    return result


def _sentence_per_line(text: str) -> str:
    """Close every sentence with punctuation so phrases never bridge a heading and its text."""
    lines = []
    for start, end in split_sentences(text):
        sentence = " ".join(text[start:end].split())
        lines.append(sentence if sentence[-1] in ".!?…\"'”\u2019)" else sentence + ".")
    return "\n".join(lines)


def yake_keyphrases(text: str, top: int = 20, max_words: int = 3) -> list[str]:
    import yake

    # Over-fetch because cleaning drops mixed-case, stopword-bridged and same-stem phrases.
    extractor = yake.KeywordExtractor(lan="en", n=max_words, top=top * 2, dedup_lim=0.9)
    pairs = extractor.extract_keywords(text)
    return _clean([str(phrase) for phrase, _score in pairs], top)


def rake_keyphrases(text: str, top: int = 20, max_words: int = 3) -> list[str]:
    """RAKE: candidates are runs of content words; a word scores degree / frequency."""
    candidates: list[tuple[str, ...]] = []
    for fragment in _PHRASE_SPLIT.split(text):
        run: list[str] = []
        for raw in fragment.split():
            token = raw.strip("'\u2019-")
            if token and token.casefold() not in STOPWORDS and any(ch.isalnum() for ch in token):
                run.append(token)
                continue
            if run:
                candidates.append(tuple(run))
            run = []
        if run:
            candidates.append(tuple(run))
    candidates = [c for c in candidates if len(c) <= max_words]
    frequency: Counter[str] = Counter()
    degree: Counter[str] = Counter()
    for candidate in candidates:
        for token in candidate:
            frequency[token.casefold()] += 1
            degree[token.casefold()] += len(candidate)
    # Repetition is what marks a phrase as central in a single document.
    repeats = Counter(candidates)
    scored: dict[str, float] = {}
    for candidate in candidates:
        phrase = " ".join(candidate)
        if phrase not in scored:
            word_scores = sum(degree[t.casefold()] / frequency[t.casefold()] for t in candidate)
            scored[phrase] = word_scores * repeats[candidate]
    # dicts keep insertion order and sorted() is stable, so ties go to the earlier phrase.
    ranked = sorted(scored, key=lambda p: -scored[p])
    return _clean(ranked, top)


def extract_keyphrases(
    text: str,
    top: int = 20,
    max_words: int = 3,
    *,
    primary: Callable[[str, int, int], list[str]] = yake_keyphrases,
) -> list[str]:
    """Up to ``top`` key phrases, best first, as they are written in the text."""
    if not text.strip():
        return []
    text = _sentence_per_line(text)
    try:
        phrases = primary(text, top, max_words)
    except Exception:
        logger.warning("keyphrase extractor failed; using the RAKE fallback", exc_info=True)
        phrases = []
    return phrases or rake_keyphrases(text, top, max_words)
