"""Lexical analysis and ranking: tokenizer, stemmer, BM25 and reciprocal rank fusion.

Everything here is in-process and deterministic so that the same analyzer can index chunks
when they are stored and analyze queries when they arrive; changing it means re-indexing.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from functools import lru_cache
from typing import TypeVar

import snowballstemmer

__all__ = [
    "STOPWORDS",
    "BM25Index",
    "analyze",
    "normalize",
    "rrf",
    "stem",
    "words",
]

# A compact English list (articles, pronouns, auxiliaries, prepositions, conjunctions and
# question words). Question words matter: a query such as "What did the Normans ..." should be
# matched on its content words only.
STOPWORDS: frozenset[str] = frozenset(
    """
    a about above after again against all also am an and any are aren as at be because been
    before being below between both but by can cannot could couldn did didn do does doesn doing
    don down during each either else etc ever few for from further had hadn has hasn have haven
    having he her here hers herself him himself his how however i if in into is isn it its itself
    just let ll me might more most must mustn my myself neither no nor not now of off on once only
    or other ought our ours ourselves out over own per re same shall shan she should shouldn so
    some such than that the their theirs them themselves then there these they this those through
    thus to too under until up upon us ve very via was wasn we were weren what whatever when
    whenever where whereas wherever whether which while who whoever whom whose why will with
    within without won would wouldn yet you your yours yourself yourselves
    """.split()  # noqa: SIM905 - a word list reads best as text
)

_WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")
_POSSESSIVE = re.compile(r"['\u2019]s$")
_stemmer = snowballstemmer.stemmer("english")

T = TypeVar("T", bound=Hashable)


def normalize(text: str) -> str:
    """Case- and accent-fold so that "Café", "CAFE" and "cafe" index the same way."""
    if text.isascii():
        return text.lower()
    folded = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in folded if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    """Folded word tokens, possessive 's removed and inner apostrophes dropped (don't -> dont)."""
    out: list[str] = []
    for match in _WORD.finditer(normalize(text)):
        token = _POSSESSIVE.sub("", match.group())
        token = token.replace("'", "").replace("\u2019", "")
        if token:
            out.append(token)
    return out


@lru_cache(maxsize=65536)
def stem(token: str) -> str:
    """Snowball (Porter 2) stem; numbers and mixed tokens are kept whole."""
    if not token.isalpha():
        return token
    result: str = _stemmer.stemWord(token)
    return result


def analyze(text: str) -> list[str]:
    """The index/query analyzer: fold, tokenize, drop stopwords and single letters, stem."""
    return [
        stem(token)
        for token in words(text)
        if token not in STOPWORDS and (len(token) > 1 or token.isdigit())
    ]


class BM25Index:
    """Okapi BM25 over pre-analyzed documents, with an inverted index for sparse scoring.

    The IDF is the non-negative Lucene form, log(1 + (N - n + 0.5) / (n + 0.5)), so a term that
    appears in most documents still adds a little instead of penalising its documents.
    """

    def __init__(self, documents: Iterable[Sequence[str]], *, k1: float = 1.2, b: float = 0.75):
        if k1 < 0 or not 0 <= b <= 1:
            raise ValueError("BM25 needs k1 >= 0 and 0 <= b <= 1")
        self.k1 = k1
        self.b = b
        self._postings: dict[str, list[tuple[int, int]]] = {}
        self._lengths: list[int] = []
        for doc_id, terms in enumerate(documents):
            self._lengths.append(len(terms))
            for term, tf in Counter(terms).items():
                self._postings.setdefault(term, []).append((doc_id, tf))
        n_docs = len(self._lengths)
        self._avgdl = (sum(self._lengths) / n_docs) if n_docs else 0.0
        self._idf = {
            term: math.log(1.0 + (n_docs - len(p) + 0.5) / (len(p) + 0.5))
            for term, p in self._postings.items()
        }
        # Per-document length normalisation is query-independent, so it is computed once.
        avgdl = self._avgdl or 1.0
        self._norm = [k1 * (1.0 - b + b * length / avgdl) for length in self._lengths]

    @classmethod
    def from_texts(cls, texts: Iterable[str], *, k1: float = 1.2, b: float = 0.75) -> BM25Index:
        return cls((analyze(text) for text in texts), k1=k1, b=b)

    def __len__(self) -> int:
        return len(self._lengths)

    def idf(self, term: str) -> float:
        return self._idf.get(term, 0.0)

    def scores(self, query_terms: Sequence[str]) -> dict[int, float]:
        """Scores of every document sharing at least one term with the query.

        Repeated query terms are counted once: a question that repeats a word is not asking
        for it twice as much, and this keeps long pasted queries from being dominated by one term.
        """
        result: dict[int, float] = {}
        k1 = self.k1
        for term in dict.fromkeys(query_terms):
            postings = self._postings.get(term)
            if not postings:
                continue
            idf = self._idf[term]
            for doc_id, tf in postings:
                gain = idf * tf * (k1 + 1.0) / (tf + self._norm[doc_id])
                result[doc_id] = result.get(doc_id, 0.0) + gain
        return result

    def search(self, query: str | Sequence[str], k: int = 10) -> list[tuple[int, float]]:
        """Top-k (document index, score), best first; ties go to the earlier document."""
        terms = analyze(query) if isinstance(query, str) else query
        ranked = sorted(self.scores(terms).items(), key=lambda item: (-item[1], item[0]))
        return ranked[:k]


def rrf(
    rankings: Iterable[Sequence[T]], k: int = 60, weights: Sequence[float] | None = None
) -> list[tuple[T, float]]:
    """Reciprocal rank fusion: sum of weight / (k + rank) over the rankings an item appears in.

    Only ranks are used, so lexical and vector scores on different scales fuse without
    calibration; ``weights`` (1 each by default) let a weaker ranking count for less. Ties keep
    the order in which items were first seen.
    """
    if k < 0:
        raise ValueError("rrf needs k >= 0")
    fused: dict[T, float] = {}
    for n, ranking in enumerate(rankings):
        weight = 1.0 if weights is None else weights[n]
        for rank, item in enumerate(dict.fromkeys(ranking), start=1):
            fused[item] = fused.get(item, 0.0) + weight / (k + rank)
    order = {item: i for i, item in enumerate(fused)}
    return sorted(fused.items(), key=lambda pair: (-pair[1], order[pair[0]]))
