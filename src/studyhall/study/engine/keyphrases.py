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

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from studyhall.study.engine.lexical import STOPWORDS, stem, words
from studyhall.study.engine.lexicon import common_rank, kind_of, name_class, term_class
from studyhall.study.engine.pos import Token, can_be_verb, common_noun, leans_verb, tag
from studyhall.study.engine.sentences import split_sentences

__all__ = ["GENERIC", "MONTHS", "KeyPhrase", "Occurrence", "extract_keyphrases", "key_phrases"]

# Nouns that name no concept of their own: a blank on one of them ("doubling the ____ of
# buckets" -> number) tests reading, not the material. Also words of reporting and time.
GENERIC: frozenset[str] = frozenset(
    """
    programme programmes number numbers amount amounts part parts way ways kind kinds type types
    form forms sort sorts
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
    news story stories notion notions definition definitions exploit exploits breakthrough
    verdict phrase phrases component components pair pairs
    monday tuesday wednesday thursday friday saturday sunday january february march april may
    june july august september october november december
    """.split()  # noqa: SIM905 - a word list reads best as text
)

# Words that quantify ("many cells", "several firms"): dropped from the front of a phrase.
_QUANTIFIERS: frozenset[str] = frozenset(
    "many much several various few each every most more less certain".split()  # noqa: SIM905
)
# Adjectives that rank or judge rather than define: "first minister", "main reason", "new
# york" cut after them would blank half a title, so a phrase starting with one (in lower
# case) is not a term.
_JUDGING: frozenset[str] = frozenset(
    """
    other same different own such whole entire total following previous next last first second
    third main key important new recent current latest further additional particular specific
    similar possible real major good bad great best better worse worst big little old
    massive huge vast enormous significant serious considerable substantial
    """.split()  # noqa: SIM905 - a word list reads best as text
)
# Adjectives of degree ("bigger", "biggest", "best-known"): "a much _____ here" -> "bigger
# message" blanks a comparison in half, and "the biggest advocates" is praise, not a term.
_GRADABLE = """
    big small large high great low wide long old young strong early late easy fast cheap hard
    deep short tall rich poor broad heavy light dark bright quick slow weak tough fine clear
    safe warm cold hot busy happy tight firm close
    """.split()  # noqa: SIM905 - a word list reads best as text


def _graded_forms(base: str) -> set[str]:
    stem_ = base[:-1] + "i" if base.endswith("y") else base
    if base.endswith("e"):
        stem_ = base[:-1]
    elif (
        len(base) >= 3
        and base[-1] not in "aeiouwy"
        and base[-2] in "aeiou"
        and base[-3] not in "aeiou"
    ):
        stem_ = base + base[-1]  # big -> bigg-er
    return {stem_ + "er", stem_ + "est"}


_DEGREE: frozenset[str] = frozenset(
    {form for base in _GRADABLE for form in _graded_forms(base)}
    | {"better", "best", "worse", "worst", "more", "most", "less", "least", "further", "furthest"}
)
_DEGREE_PREFIX = re.compile(r"^(?:best|most|least|better|well|worst|highest|biggest|largest)-")


def _of_degree(word: str) -> bool:
    lower = word.lower()
    return lower in _DEGREE or _DEGREE_PREFIX.match(lower) is not None


# Figures with these after them are amounts ("17.5 million", "380 years").
_SCALES = frozenset(["hundred", "thousand", "million", "billion", "trillion", "people"])
# How the text says what an unknown name names: "Mr Conlon", "Idowu said"; "in Santry".
_TITLED = re.compile(r"\b(?:Mr|Mrs|Ms|Dr|Prof|Sir|Dame|Lord|Lady)\.?\s+$")
_SAYS = re.compile(r",?\s+(?:said|says|told|added)\b")
# '"...," said Harold Bloom.'; "Harold Bloom, who ..."; "Harold Bloom, 45, ...".
_SAID_BY = re.compile(r"\b(?:said|says|added)\s+$")
_SAID_BY_END = re.compile(r"^\s*(?:[,.;:!?\"\u201d]|$)")
_PERSON_AFTER = re.compile(r"^,\s+(?:who\b|\d{2},)")
# Names listed together are of one kind: "Pam Ferris, Victoria Hamilton and Kelly Reilly".
_LISTED = re.compile(r"^(?:,\s*|,?\s+and\s+)$")
_ARTICLE_BEFORE = re.compile(r"\b[Tt]he\s+$")
_LOCATED = re.compile(r"\b(?:in|at|near|from|to)\s+$")
# Lower-case words inside names: "Antonie van Leeuwenhoek", "Leonardo da Vinci".
_NAME_PARTICLES = frozenset(["van", "von", "de", "da", "del", "der", "di", "la", "le", "du", "bin"])
_HONORIFICS = frozenset(["mr", "mrs", "ms", "dr", "prof", "sir", "dame", "lord", "lady"])
# Single common words are generic unless the material keeps using them: "quarter" in a news
# story is filler, "energy" in physics notes is the subject. Ranks are of 2023 English news.
_COMMON_RANK = 3000
_SALIENT_USES = 3
# The very commonest ("quarter", "work", "husband", "launch") are generic however often the
# material uses them: a reader fills "her _____" or "prior to its _____" from the sentence.
_VERY_COMMON_RANK = 1200
# Heads so empty that no modifier makes a term of them: "the open source way of working".
_EMPTY_HEADS = frozenset(
    "way ways lot lots kind kinds sort sorts thing things bit bits deal deals".split()  # noqa: SIM905
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
    modified: bool = False
    """It opens with a lower-case adjective ("credible picture", "young man")."""
    category: str = "term"
    """What a name names (``lexicon.name_class``), the kind of thing a term's head is
    (``lexicon.term_class``), or ``number``."""
    occurrences: list[Occurrence] = field(default_factory=list)


def _kind(surface: str) -> str:
    if any(ch.isdigit() for ch in surface):
        return "number"
    if all(word[:1].isupper() or word in _NAME_PARTICLES for word in surface.split()):
        return "name"
    return "term"


def _plural(head: str) -> bool:
    lower = head.lower()
    return lower.endswith("s") and not lower.endswith(("ss", "us", "is", "ics"))


def _nominal(token: Token) -> bool:
    text = token.text.lower()
    # "I'm", "they're": a pronoun and a verb; "O'Brien" stays a name.
    contraction = any(ch in text for ch in "'\u2019") and token.text[-1].islower()
    return token.pos in _NOMINAL and text not in STOPWORDS and not contraction


def _runs(sentence: str, tokens: Sequence[Token]) -> list[list[Token]]:
    """Maximal nominal runs; punctuation between two words ends a run."""
    runs: list[list[Token]] = []
    current: list[Token] = []
    for token in tokens:
        joined = current and sentence[current[-1].end : token.start].isspace()
        if _nominal(token):
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


def _capitalised(token: Token | None) -> bool:
    return token is not None and token.start > 0 and token.text[:1].isupper()


def _inside_a_name(sentence: str, tokens: Sequence[Token], run: Sequence[Token]) -> bool:
    """The run is part of a longer name the tagger split: a capitalised word touches it ("No
    More Mr Nasty"), or "of" joins it to one ("Court of Appeals", "Novel of the Year")."""
    index = tokens.index(run[0])
    after_index = index + len(run)

    def at(i: int) -> Token | None:
        return tokens[i] if 0 <= i < len(tokens) else None

    before, after = at(index - 1), at(after_index)
    if (
        _capitalised(before)
        and before is not None
        and before.text.lower().rstrip(".") not in _HONORIFICS
        and sentence[before.end : run[0].start].isspace()
    ):
        return True
    if (
        after is not None
        and after.text[:1].isupper()
        and sentence[run[-1].end : after.start].isspace()
    ):
        return True
    if not run[0].text[:1].isupper():
        return False
    # "Richard the _____" of "Richard the Lion-Heart", "_____ the Lion" of "William the Lion".
    joined_before = (
        before is not None and before.text in ("of", "for", "the") and _capitalised(at(index - 2))
    )
    beyond = at(after_index + 1)
    if beyond is not None and beyond.text == "the":
        beyond = at(after_index + 2)
    joined_after = (
        after is not None
        and after.text in ("of", "for", "the")
        and beyond is not None
        and beyond.text[:1].isupper()
    )
    return joined_before or joined_after


MONTHS: frozenset[str] = frozenset(
    """january february march april may june july august september october november
    december""".split()  # noqa: SIM905 - a word list reads best as text
)


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
    unit = run[-1].text.lower()
    if not (unit in _SCALES or _plural(unit) or run[-1].pos == "NUM"):
        return None  # "200 million cell" of "200 million cell phones"
    if len(run) <= 2 + scaled and all(token.pos in ("NUM", "NOUN") for token in run):
        return run
    return None


def _trimmed(run: list[Token]) -> list[Token] | None:
    """The run as a term, or None: quantifiers, titles and trailing adjectives dropped; a run
    of generic words, one opened by a judging adjective, or one too long to be a term, is not a
    key phrase."""
    while run and (
        run[0].text.lower() in _QUANTIFIERS or run[0].text.lower().rstrip(".") in _HONORIFICS
    ):
        if _of_degree(run[0].text) and len(run) > 1 and run[1].pos == "ADJ":
            return None  # "the most popular service": "most _____" would split the superlative
        run = run[1:]
    capitals = [token.text[:1].isupper() or token.text in _NAME_PARTICLES for token in run]
    if capitals and capitals[-1] and not all(capitals):
        # "director Richard Eyre", "year Bournemouth": the name is the phrase.
        tail = len(run) - capitals[::-1].index(False)
        run = run[tail:]
    if run and (run[0].text in _JUDGING or _of_degree(run[0].text)):
        return None
    while run and run[-1].pos == "ADJ":
        run = run[:-1]
    if not run or len(run) > MAX_WORDS:
        return None
    if run[0].text.lower() in MONTHS and len(run) > 1 and run[1].pos == "NUM":
        return _quantity(run)
    if any(token.pos == "NUM" for token in run):
        return _quantity(run)
    head = run[-1].text.lower()
    if run[-1].pos not in _HEAD or head in _EMPTY_HEADS:
        return None
    if len(run) == 2 and run[0].pos == "ADJ" and run[1].text.lower() in GENERIC:
        rank = common_rank(run[0].text)
        if rank is not None and rank <= _COMMON_RANK:
            return None  # "international level", "informal notion": a common word qualifies filler
    if all(token.text.lower() in GENERIC for token in run):
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
    if index == 0 and len(run) > 1 and run[1].pos == "ADJ":
        return True  # "impose tougher rules"
    return index > 0 or word.lower().endswith(("s", "ed", "ing"))


def _generic(phrase: KeyPhrase, uses: Counter[str]) -> bool:
    """A single word that names nothing in particular: on the generic list, a common news word
    the material seldom uses ("quarter", "husband"), or an ordinary word written with a capital
    ("Committee")."""
    if len(phrase.stems) != 1:
        return False
    if phrase.kind == "name":
        return phrase.category == "word"
    if phrase.kind != "term":
        return False
    rank = common_rank(phrase.surface)
    if rank is None:
        return False
    return rank <= _VERY_COMMON_RANK or (
        rank <= _COMMON_RANK and uses[phrase.stems[0]] < _SALIENT_USES
    )


def _next(tokens: Sequence[Token], token: Token) -> Token | None:
    index = tokens.index(token) + 1
    return tokens[index] if index < len(tokens) else None


def _without_verb_tail(sentence: str, tokens: Sequence[Token], run: list[Token]) -> list[Token]:
    """The run without a last word that is the sentence's verb or a participle, read as one
    more noun by the tagger: "the output corresponding to the input", "Victorian farms range
    from small outfits", "chloroplasts absorbs red light", "a magma chamber empties and
    collapses". It is told by the word after it (a preposition, an article, a pronoun or
    "and") and by the word before it (English seldom puts a plural noun before another noun)."""
    while len(run) > 1 and run[-1].pos == "ADJ":
        run = run[:-1]  # "chloroplasts absorbs red and blue light"
    if len(run) < 2 or run[-2].pos != "NOUN":
        return run
    following = _next(tokens, run[-1])
    if following is None or following.pos not in ("ADP", "DET", "PART", "PRON", "CCONJ", "ADJ"):
        return run
    last, before = run[-1].text.lower(), run[-2].text
    participle = last.endswith("ing")
    after_plural = _plural(before) and (not _plural(last) or can_be_verb(last))
    verb_s = _plural(last) and can_be_verb(last) and following.pos != "ADP"
    return run[:-1] if participle or after_plural or verb_s else run


def _without_verb_head(tokens: Sequence[Token], run: list[Token]) -> list[Token]:
    """The run without a first word that is a verb, read as a noun by the tagger: after "and"
    ("is sticky and traps gas", "… membranes and release oxygen") or after its subject; or an
    adjective an adverb qualifies ("relatively modest player")."""
    index = tokens.index(run[0])
    if len(run) < 2 or index == 0 or not run[0].text[:1].islower():
        return run
    before = tokens[index - 1].pos
    degree = tokens[index - 1].text.lower() in _DEGREE
    if (before == "ADV" or degree) and run[0].pos == "ADJ":
        # "a relatively modest player", "the most popular service": the adjective belongs to
        # the adverb.
        return run[1:]
    # After "and": a word that can be a verb, or any "-s" form when a predicate ends before
    # the "and" ("is sticky and traps gas").
    predicate = index > 1 and tokens[index - 2].pos in ("ADJ", "VERB", "ADV")
    after_and = before == "CCONJ" and (
        can_be_verb(run[0].text) or (predicate and _plural(run[0].text))
    )
    # "Chloroplasts capture light energy", "to capture light energy": a word that leans to a
    # verb opens no term unless an article, a preposition or an adjective comes before it.
    leaning = before not in ("DET", "ADP", "ADJ", "NUM") and leans_verb(run[0].text)
    return run[1:] if after_and or leaning else run


_DIRECTIONS = frozenset(
    "southern northern eastern western upper lower central north south east west".split()  # noqa: SIM905
)


def _half_of_a_phrase(sentence: str, tokens: Sequence[Token], term: Sequence[Token]) -> bool:
    """The term runs on into a word the tagger split off: a plural noun read as a verb right
    after it ("graphics workstations, the new console"), or a capitalised word opening the
    sentence right before a name ("Ask Jeeves has become …")."""
    following = _next(tokens, term[-1])
    if (
        following is not None
        and following.pos == "VERB"
        and sentence[term[-1].end : following.start].isspace()
        and _plural(following.text)
        and not leans_verb(following.text)
    ):
        return True
    index = tokens.index(term[0])
    before = tokens[index - 1] if index else None
    if (
        before is not None
        and before.pos == "X"
        and before.text.isalpha()
        and sentence[before.end : term[0].start].isspace()
    ):
        return True  # "silver chains", "silver" read as no word at all
    if (
        before is not None
        and sentence[before.end : term[0].start].isspace()
        and term[0].pos == "PROPN"
        and (before.text in _DIRECTIONS or before.pos == "NUM")
    ):
        # "southern _____" of "southern California", "20th _____" of "20th Century Fox".
        return True
    if index and sentence[: term[0].start].endswith(("-", "\u2013")) and index > 0:
        return tokens[index - 1].text[:1].isupper()  # "San Diego-_____" of "San Diego-Tijuana"
    if (
        index > 1
        and tokens[index - 1].pos == "CCONJ"
        and (
            (
                tokens[index - 2].pos == "ADJ"
                and term[0].text[:1].isupper() == tokens[index - 2].text[:1].isupper()
            )
            or sentence[: tokens[index - 1].start].rstrip().endswith("-")
        )
    ):
        # "the Transverse and _____" of "the Transverse and Peninsular Ranges", "the 8- and
        # _____" of "the 8- and 10-county definitions".
        return True
    opener = tokens[0] if index == 1 else None
    return (
        opener is not None
        and term[0].pos == "PROPN"
        and opener.text[:1].isupper()
        and opener.text.lower() not in STOPWORDS
        and opener.pos not in ("ADV", "ADP", "SCONJ", "CCONJ", "PRON", "DET")
        and sentence[opener.end : term[0].start].isspace()
    )


_JOINED_FIGURE = re.compile(r"\d[:\u2013\u2014/-]$")
_FIGURE_JOINED = re.compile(r"^[:\u2013\u2014/-]\d")


# A figure followed by itself in other units: "48.8 °C (119.8 °F)", "11 miles (18 km)".
_CONVERTED = re.compile(r"^\s*(?:°\s*[CF])?\s*\(\s*[\d.,]+")
_CONVERSION = re.compile(r"\d\s*(?:°\s*[CF]|[^\W\d_]+)?\s*\(\s*$")


def _part_of_a_figure(sentence: str, start: int, end: int) -> bool:
    """Half of a time, a range or a ratio ("14:39.29", "1038-40", "2001-2007", any dash), or a
    figure the sentence also gives in other units ("11 miles (18 km)")."""
    return bool(
        _JOINED_FIGURE.search(sentence[:start])
        or _FIGURE_JOINED.match(sentence[end:])
        or (
            sentence[start:end][:1].isdigit()
            and bool(_CONVERTED.match(sentence[end:]) or _CONVERSION.search(sentence[:start]))
        )
    )


def _named_person(sentence: str, tokens: Sequence[Token], term: Sequence[Token]) -> bool:
    """The text says a name is a person's: a person's role just before it ("lawyer Michalis
    Dimitrakopoulos", "author Jenny Colgan"), or "said" after a name that ends in no ordinary
    word ("Idowu said"; "the Telegraph Group says" and "Financial Times said" are no people)."""
    index = tokens.index(term[0])
    role = tokens[index - 1] if index else None
    if (
        role is not None
        and role.pos == "NOUN"
        and sentence[role.end : term[0].start].isspace()
        and kind_of(role.text) == "person"
    ):
        return True
    rest = sentence[term[-1].end :]
    return (
        _SAYS.match(rest) is not None
        or (_SAID_BY.search(sentence[: term[0].start]) is not None and _SAID_BY_END.match(rest))
        or _PERSON_AFTER.match(rest) is not None
    ) and (
        not common_noun(term[-1].text) and not term[-1].text.isupper()  # "the IAAF said"
    )


def _role_of_another_kind(sentence: str, tokens: Sequence[Token], term: Sequence[Token]) -> bool:
    """The text says a name is no person's: "the" before it, or a noun naming a thing, not a
    person, right before it ("investment bank Morgan Stanley")."""
    if _ARTICLE_BEFORE.search(sentence[: term[0].start]):
        return True  # "the Lib Dems", "the Blair Babes": a group or a title, not one person
    index = tokens.index(term[0])
    role = tokens[index - 1] if index else None
    if role is None or role.pos != "NOUN" or not sentence[role.end : term[0].start].isspace():
        return False
    kind = kind_of(role.text)
    return kind is not None and kind != "person"


def _collect(sentences: Sequence[str]) -> tuple[dict[tuple[str, ...], KeyPhrase], Counter[str]]:
    """Every whole noun phrase by its stems, with the forms it is written in; and how often
    the material uses each word (by stem)."""
    found: dict[tuple[str, ...], KeyPhrase] = {}
    forms: dict[tuple[str, ...], Counter[str]] = {}
    uses: Counter[str] = Counter()
    titled: set[tuple[str, ...]] = set()
    located: set[tuple[str, ...]] = set()
    other_roles: set[tuple[str, ...]] = set()
    coordinated: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
    for index, sentence in enumerate(sentences):
        previous: tuple[tuple[str, ...], int] | None = None
        tokens = tag(sentence)
        uses.update(stem(token.text.lower()) for token in tokens)
        possessors = {t.start for t, n in pairwise(tokens) if n.pos == "PART"}
        for run in _runs(sentence, tokens):
            if run[-1].start in possessors and any(t.pos == "ADJ" for t in run):
                # "biggest children" of "the biggest children's award" is half of a phrase.
                continue
            term = _trimmed(_without_verb_tail(sentence, tokens, _without_verb_head(tokens, run)))
            if (
                term is None
                or _inside_a_name(sentence, tokens, term)
                or _half_of_a_phrase(sentence, tokens, term)
            ):
                continue
            start, end = term[0].start, term[-1].end
            key = tuple(stem(word) for word in words(sentence[start:end]))
            if not key or _part_of_a_figure(sentence, start, end):
                continue
            if key not in found:
                named = term[0].pos == "PROPN" and not common_noun(term[0].text)
                kind = "number" if any(token.pos == "NUM" for token in term) else "term"
                modified = term[0].pos == "ADJ" and term[0].text[:1].islower() and len(term) > 1
                found[key] = KeyPhrase("", key, kind, _plural(term[-1].text), named, modified)
                forms[key] = Counter()
            found[key].occurrences.append(Occurrence(index, start, end))
            if _TITLED.search(sentence[:start]) or _named_person(sentence, tokens, term):
                titled.add(key)
            elif _LOCATED.search(sentence[:start]):
                located.add(key)
            if _role_of_another_kind(sentence, tokens, term):
                other_roles.add(key)
            if previous is not None and _LISTED.match(sentence[previous[1] : start]):
                coordinated.append((previous[0], key))
            previous = (key, end)
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
        if phrase.kind == "term":
            phrase.category = term_class(phrase.surface.split()[-1])
        elif phrase.kind != "name":
            phrase.category = phrase.kind
        else:
            phrase.category = name_class(phrase.surface)
            if len(key) == 1 and common_noun(phrase.surface):
                # "Guardian", "Church": an ordinary word with a capital, whatever its gloss says.
                phrase.category = "word"
            elif phrase.category == "unknown" and key in titled:
                phrase.category = "person"
            elif phrase.category == "unknown" and key in located:
                phrase.category = "place"
    _people(found, other_roles, coordinated)
    return found, uses


def _a_persons_name(written: Sequence[str]) -> bool:
    """Two or three words, each a name out of context (no ordinary word: "Time Warner", "West
    End", "Lehman Brothers", "Crown Prince Frederik"; no acronym: "BBC World"; no plural of an
    ordinary word: "Blair Babes"), none a place or a group by itself ("Paris Hilton",
    "Jordan") and not a saint's place ("St Kitts"): in news, a person's full name ("Harold
    Bloom", "Mikhail Khodorkovsky")."""
    return (
        2 <= len(written) <= 3
        and written[0].rstrip(".") not in ("St", "Ste", "Mt")
        and all(
            word[:1].isupper()
            and not word.isupper()
            and not common_noun(word)
            and name_class(word) in ("unknown", "person")
            for word in written
        )
        and not (written[-1].endswith("s") and common_noun(written[-1][:-1]))
    )


def _people(
    found: dict[tuple[str, ...], KeyPhrase],
    roles: set[tuple[str, ...]],
    coordinated: list[tuple[tuple[str, ...], tuple[str, ...]]],
) -> None:
    """Names WordNet does not know that have a person's shape (``_a_persons_name``) and that
    the material treats as a person's: the surname stands alone elsewhere ("Jarre" after
    "Jean-Michel Jarre"), or the name is listed with a person's ("Pam Ferris, Victoria Hamilton
    and Kelly Reilly"). Not when the text says otherwise (``_role_of_another_kind``) or the
    name is the end of a longer one ("Marie Leroi" of "Armand Marie Leroi"). A person's full
    name is one person, whatever its last letter ("Joey Collins" is no plural)."""
    names = {key: phrase for key, phrase in found.items() if phrase.kind == "name"}
    shaped = {
        key
        for key, phrase in names.items()
        if len(key) >= 2
        and key not in roles
        and _a_persons_name(phrase.surface.split())
        and not any(len(other) > len(key) and other[-len(key) :] == key for other in names)
    }
    for key in shaped:
        alone = names.get(key[-1:])
        if names[key].category == "unknown" and alone is not None and alone.category == "unknown":
            names[key].category = alone.category = "person"
    changed = True
    while changed:
        changed = False
        for left, right in coordinated:
            for one, other in ((left, right), (right, left)):
                person = names.get(one)
                if person is None or person.category != "person" or other not in shaped:
                    continue
                if names[other].category == "unknown":
                    names[other].category = "person"
                    changed = True
    for key in shaped:
        if names[key].category == "person":
            names[key].plural = False
            alone = names.get(key[-1:])
            if alone is not None:
                alone.plural = False


def key_phrases(sentences: Sequence[str]) -> list[KeyPhrase]:
    """Key phrases of the sentences, best first, with every place each is a whole phrase."""
    found, uses = _collect(sentences)
    phrases = [phrase for phrase in found.values() if not _generic(phrase, uses)]
    first = {id(phrase): order for order, phrase in enumerate(phrases)}

    def score(phrase: KeyPhrase) -> tuple[int, bool, int, int]:
        # Among phrases used equally often, names and figures first: they are what a student
        # is most often asked to recall.
        return (
            -len(phrase.occurrences),
            phrase.kind == "term",
            -len(phrase.stems),
            first[id(phrase)],
        )

    return sorted(phrases, key=score)


def extract_keyphrases(text: str, top: int = 20) -> list[str]:
    """Up to ``top`` key phrases of a text, best first, as they are written in it."""
    sentences = [text[start:end] for start, end in split_sentences(text)]
    return [phrase.surface for phrase in key_phrases(sentences)[:top]]
