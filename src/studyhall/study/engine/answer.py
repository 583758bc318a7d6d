"""Offline grounded answers: quote the retrieved sentences that best match the question.

Without a model the honest answer is the source's own words; quoting (rather than stitching
sentences into new prose) keeps every claim traceable to its citation.
"""

from __future__ import annotations

import math
from collections.abc import Container, Iterable, Mapping, Sequence

from studyhall.study.engine.chunk import Passage
from studyhall.study.engine.lexical import BM25Index, analyze
from studyhall.study.engine.schemas import GroundedAnswer, SummarySentence
from studyhall.study.engine.summarize import quotable_sentences, source_sentences

__all__ = [
    "ABSTAIN_BELOW",
    "NOT_FOUND",
    "answer_question",
    "filter_citations",
    "query_coverage",
    "unseen_idf",
]

NOT_FOUND = "I could not find this in your materials."

# Below this share of the question's IDF mass in the best retrieved chunk, the answer is "not
# found" and the chunks are only offered as related. Chosen on the public SQuAD subset: 2.7 % of
# answerable questions fall below it, while 79 % of questions asked of materials that do not hold
# their article do (see docs/study.md, "Abstention").
ABSTAIN_BELOW = 0.3


def unseen_idf(documents: int) -> float:
    """The IDF of a word found in none of ``documents``: the most a word can say."""
    return math.log(1.0 + (documents + 0.5) / 0.5)


def query_coverage(
    query_terms: Sequence[str],
    idf: Mapping[str, float],
    unseen: float,
    document_terms: Container[str],
) -> float:
    """The share of the question's IDF mass (corpus-level) that one document holds.

    A question word the materials never use weighs ``unseen``, the most: a question about
    B-trees asked of biology notes leaves "b-tree", "node" and "key" unmatched, whatever single
    word it shares with a glycolysis sentence.
    """
    weights = {term: idf.get(term) or unseen for term in dict.fromkeys(query_terms)}
    total = sum(weights.values())
    if total <= 0:
        return 0.0
    return sum(w for term, w in weights.items() if term in document_terms) / total


def answer_question(
    question: str,
    passages: Sequence[Passage],
    *,
    max_quotes: int = 3,
    min_relative: float = 0.5,
    min_overlap: float = 0.3,
) -> GroundedAnswer:
    """Quote up to ``max_quotes`` sentences of the retrieved ``passages`` (best first).

    ``passages`` come in retrieval order. A sentence is quoted when it scores at least
    ``min_relative`` of the best sentence; nothing is quoted unless the best sentence covers
    ``min_overlap`` of the question's IDF mass, so an unrelated chunk never passes as an answer.
    """
    if max_quotes < 1:
        raise ValueError("max_quotes must be at least 1")
    # Titles and headings are not answers, though they share the question's words.
    sentences = quotable_sentences(source_sentences(passages), min_words=3)
    query = list(dict.fromkeys(analyze(question)))
    if not sentences or not query:
        return GroundedAnswer(text=NOT_FOUND, quotes=[], grounded=False)
    # IDF comes from sentences of the retrieved chunks: within them, a word every sentence
    # shares tells nothing about which sentence answers.
    index = BM25Index((analyze(s.text) for s in sentences), k1=1.2, b=0.75)
    order = {p.id: rank for rank, p in enumerate(passages)}
    scores = index.scores(query)
    if not scores:
        return GroundedAnswer(text=NOT_FOUND, quotes=[], grounded=False)
    ranked = sorted(scores, key=lambda i: (-scores[i], order.get(sentences[i].passage.id, 0), i))
    best = ranked[0]
    total_idf = sum(index.idf(term) for term in query) or 1.0
    matched = set(analyze(sentences[best].text))
    coverage = sum(index.idf(term) for term in query if term in matched) / total_idf
    if coverage < min_overlap:
        return GroundedAnswer(text=NOT_FOUND, quotes=[], grounded=False)
    chosen = [i for i in ranked[:max_quotes] if scores[i] >= min_relative * scores[best]]
    quotes = [
        SummarySentence(text=sentences[i].text, citations=[sentences[i].citation()]) for i in chosen
    ]
    text = " ".join(f"“{quote.text}” [{n}]" for n, quote in enumerate(quotes, start=1))
    return GroundedAnswer(text=text, quotes=quotes, grounded=True)


def filter_citations(answer_citations: Sequence[str], retrieved_ids: Iterable[str]) -> list[str]:
    """The cited chunk ids that were actually retrieved, first occurrence order, no repeats.

    A model can cite ids it invented or remembered from another turn; only chunks that were
    in this answer's context may be shown as its sources.
    """
    allowed = set(retrieved_ids)
    return [cid for cid in dict.fromkeys(answer_citations) if cid in allowed]
