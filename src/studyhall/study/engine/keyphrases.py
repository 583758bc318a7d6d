"""Key phrases of a material: whole noun phrases found with a part-of-speech tagger.

A key phrase is a maximal run of adjectives, nouns and names ending in a noun or a name ("Krebs
cycle", "hash function", "Robert Hooke"), or a written number ("1665"); it never holds a verb
("table stores key-value"), a preposition or an article, so a card built on it blanks a whole
term and never a sentence fragment. Runs of generic words only ("number", "place", "part")
are not terms, but a specific word narrows one ("load factor"). Figures are facts too: a year,
a date, an amount with its unit ("1665", "27 September 2001", "380 years"). Phrases are ranked
by how often the material uses them as a whole phrase; among equals names and figures first,
then longer ones, then by where they first appear.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from studyhall.study.engine.lexical import STOPWORDS, stem, words
from studyhall.study.engine.pos import Token, common_noun, leans_verb, tag
from studyhall.study.engine.sentences import split_sentences

__all__ = ["GENERIC", "MONTHS", "KeyPhrase", "Occurrence", "extract_keyphrases", "key_phrases"]

# Nouns that name no concept of their own: a blank on one of them ("doubling the ____ of
# buckets" -> number) tests reading, not the material. Also words of reporting and time.
GENERIC: frozenset[str] = frozenset(
    """
    number numbers amount amounts part parts way ways kind kinds type types form forms sort sorts
    place places picture pictures thing things stuff lot lots bit bits piece pieces case cases
    fact facts point points side sides end ends use uses result results example examples group
    groups area areas level levels order orders set sets series range ranges member members
    time times year years day days week weeks month months today yesterday people person persons
    man men woman women someone something anything everything nothing reaction reactions
    process processes system systems method methods problem problems issue issues question
    questions answer answers reason reasons idea ideas role roles term terms name names word words
    line lines item items unit units rate rates value values step steps stage stages cycle cycles
    source sources effect effects factor factors feature features aspect aspects element elements
    structure structures process function functions state states total top bottom half majority
    minority rest whole variety lack list lists deal firm firms company companies report reports
    statement statements spokesman spokeswoman official officials week weekend chance chances
    life lives average move moves plan plans deal deals decision decisions comment comments
    news story stories
    monday tuesday wednesday thursday friday saturday sunday january february march april may
    june july august september october november december
    """.split()  # noqa: SIM905 - a word list reads best as text
)

# Adjectives that quantify or order rather than define ("many cells", "first step"): dropped from
# the front of a phrase.
_LOOSE_MODIFIERS: frozenset[str] = frozenset(
    """
    many much several other various few same different certain own such each every most more less
    whole entire total following previous next last first second third main key important new
    recent current latest further additional particular specific similar possible real major
    good bad great best better worse worst
    """.split()  # noqa: SIM905 - a word list reads best as text
)
_NOMINAL = frozenset(["NOUN", "PROPN", "ADJ", "NUM"])
_HEAD = frozenset(["NOUN", "PROPN"])
MAX_WORDS = 4


@dataclass(frozen=True, slots=True)
class Occurrence:
    sentence: int
    """Index of the sentence in the sequence given to ``key_phrases``."""
    start: int
    end: int


@dataclass(slots=True)
class KeyPhrase:
    surface: str
    """The phrase as most often written inside a sentence (not capitalised by position)."""
    stems: tuple[str, ...]
    kind: str
    """``number``, ``name`` or ``term``."""
    plural: bool
    named: bool
    """Its first word is a name, so its capital is kept wherever it stands."""
    occurrences: list[Occurrence] = field(default_factory=list)


def _kind(surface: str) -> str:
    if any(ch.isdigit() for ch in surface):
        return "number"
    if all(word[:1].isupper() for word in surface.split()):
        return "name"
    return "term"


def _plural(head: str) -> bool:
    lower = head.lower()
    return lower.endswith("s") and not lower.endswith(("ss", "us", "is", "ics"))


def _runs(sentence: str, tokens: Sequence[Token]) -> list[list[Token]]:
    """Maximal nominal runs; punctuation between two words ends a run."""
    runs: list[list[Token]] = []
    current: list[Token] = []
    for token in tokens:
        joined = current and sentence[current[-1].end : token.start].isspace()
        if token.pos in _NOMINAL and token.text.lower() not in STOPWORDS:
            if current and not joined:
                runs.append(current)
                current = []
            current.append(token)
            continue
        if current:
            runs.append(current)
        current = []
    if current:
        runs.append(current)
    return runs


_HONORIFICS = frozenset(["mr", "mrs", "ms", "dr", "prof", "sir", "dame", "lord", "lady"])


MONTHS: frozenset[str] = frozenset(
    """january february march april may june july august september october november
    december""".split()  # noqa: SIM905 - a word list reads best as text
)


_SCALES = frozenset(["hundred", "thousand", "million", "billion", "trillion"])


def _quantity(run: list[Token]) -> list[Token] | None:
    """A figure as a fact: a year or number ("1665", "10,000"), a date ("27 September 2001"),
    or a figure with its unit ("380 years", "four years", "17.5 million"); else None ("in
    2004 Google" is two things)."""
    first = next(i for i, token in enumerate(run) if token.pos == "NUM")
    run = run[first:]
    if all(token.pos == "NUM" or token.text.lower() in MONTHS for token in run):
        digits = sum(ch.isdigit() for token in run for ch in token.text)
        return run if digits >= 3 or len(run) > 1 else None
    scaled = len(run) > 1 and run[1].text.lower() in _SCALES
    if len(run) <= 2 + scaled and all(token.pos in ("NUM", "NOUN") for token in run):
        return run
    return None


def _trimmed(run: list[Token]) -> list[Token] | None:
    """The run as a term, or None: loose modifiers, titles and trailing adjectives dropped; a
    run headed by a generic word, or too long to be one term, is not a key phrase."""
    while run and (
        (run[0].pos == "ADJ" and run[0].text.lower() in _LOOSE_MODIFIERS)
        or run[0].text.lower().rstrip(".") in _HONORIFICS
    ):
        run = run[1:]
    while run and run[-1].pos == "ADJ":
        run = run[:-1]
    if not run or len(run) > MAX_WORDS:
        return None
    if run[0].text.lower() in MONTHS and len(run) > 1 and run[1].pos == "NUM":
        return _quantity(run)
    if any(token.pos == "NUM" for token in run):
        return _quantity(run)
    if run[-1].pos not in _HEAD or all(token.text.lower() in GENERIC for token in run):
        # "number" alone names nothing; "load factor" and "Krebs cycle" are terms.
        return None
    if any(len(token.text) < 2 for token in run) or any(
        _verb_inside(run, i) for i in range(len(run))
    ):
        return None
    return run


def _verb_inside(run: Sequence[Token], index: int) -> bool:
    """A word that leans to a verb, read as a noun by the tagger ("mitochondria produce
    ATP"): the run is not trusted. First in a run only an inflected form counts, since a verb
    stem often names a thing in a compound ("hash function", "load factor")."""
    word = run[index].text
    if not leans_verb(word):
        return False
    return index > 0 or word.lower().endswith(("s", "ed", "ing"))


def key_phrases(sentences: Sequence[str]) -> list[KeyPhrase]:
    """Key phrases of the sentences, best first, with every place each is a whole phrase."""
    found: dict[tuple[str, ...], KeyPhrase] = {}
    forms: dict[tuple[str, ...], Counter[str]] = {}
    first: dict[tuple[str, ...], int] = {}
    order = 0
    for index, sentence in enumerate(sentences):
        tokens = tag(sentence)
        possessors = {t.start for t, n in pairwise(tokens) if n.pos == "PART"}
        for run in _runs(sentence, tokens):
            if run[-1].start in possessors and any(t.pos == "ADJ" for t in run):
                # "biggest children" of "the biggest children's award" is half of a phrase.
                continue
            term = _trimmed(run)
            if term is None:
                continue
            start, end = term[0].start, term[-1].end
            key = tuple(stem(word) for word in words(sentence[start:end]))
            if not key:
                continue
            if key not in found:
                named = term[0].pos == "PROPN" and not common_noun(term[0].text)
                kind = "number" if any(token.pos == "NUM" for token in term) else "term"
                found[key] = KeyPhrase("", key, kind, _plural(term[-1].text), named)
                forms[key] = Counter()
                first[key] = order
                order += 1
            found[key].occurrences.append(Occurrence(index, start, end))
            # Sentence-initial capitals say nothing about the word: counted only as a last resort.
            forms[key][sentence[start:end]] += 1 if start else 0
    for key, phrase in found.items():
        surface, mid_sentence = forms[key].most_common(1)[0]
        if not mid_sentence and not phrase.named and not any(c.isupper() for c in surface[1:]):
            # Only ever seen first in a sentence: "Small molecules" is written "small molecules".
            surface = surface[:1].lower() + surface[1:]
        phrase.surface = " ".join(surface.split())
        if phrase.kind != "number":
            phrase.kind = _kind(phrase.surface)

    def score(key: tuple[str, ...]) -> tuple[int, bool, int, int]:
        # Among phrases used equally often, names and figures first: they are what a student
        # is most often asked to recall.
        phrase = found[key]
        return (-len(phrase.occurrences), phrase.kind == "term", -len(key), first[key])

    return [found[key] for key in sorted(found, key=score)]


def extract_keyphrases(text: str, top: int = 20) -> list[str]:
    """Up to ``top`` key phrases of a text, best first, as they are written in it."""
    sentences = [text[start:end] for start, end in split_sentences(text)]
    return [phrase.surface for phrase in key_phrases(sentences)[:top]]
