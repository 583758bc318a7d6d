"""Abstention on the public SQuAD subset: when does "not found in your materials" come out?

Two measures, both through the production chunker, analyzer and evidence rule
(``answer.query_coverage`` of the best of the top three BM25 chunks, corpus-level IDF):

- ``squad2_impossible``: SQuAD 2.0's unanswerable questions, asked of their own article. They
  were written to look answerable (same words, a swapped entity or negation), so lexical evidence
  barely tells them apart: the honest figure of what this rule cannot do.
- ``off_material``: every answerable question asked of materials that do not hold its article
  (each article left out in turn): the "B-tree question over biology notes" case.

``answered_rate`` is the share of answerable questions asked of their own article that are still
answered; retrieval order is unchanged by abstention (the related passages are the same ranking).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from studyhall.study.engine.answer import ABSTAIN_BELOW, query_coverage, unseen_idf
from studyhall.study.engine.chunk import chunk_blocks
from studyhall.study.engine.extract import Block
from studyhall.study.engine.lexical import BM25Index, analyze

__all__ = ["evaluate_abstention"]


def _evidence(blocks: Sequence[Block], questions: Sequence[str]) -> list[float]:
    chunks = chunk_blocks(list(blocks))
    terms = [analyze(chunk.text) for chunk in chunks]
    index = BM25Index(terms)
    held = [set(t) for t in terms]
    idf = {term: index.idf(term) for chunk_terms in held for term in chunk_terms}
    unseen = unseen_idf(len(chunks))
    out = []
    for question in questions:
        query = analyze(question)
        top = index.search(query, k=3)
        out.append(max((query_coverage(query, idf, unseen, held[i]) for i, _ in top), default=0.0))
    return out


def _rates(false_abstentions: int, caught: int, unanswerable: int) -> dict[str, float]:
    """Precision among every abstention (over the answerable and these questions), recall."""
    flagged = false_abstentions + caught
    return {
        "precision": round(caught / flagged, 4) if flagged else 0.0,
        "recall": round(caught / unanswerable, 4) if unanswerable else 0.0,
    }


def evaluate_abstention(data_dir: Path, threshold: float = ABSTAIN_BELOW) -> dict[str, Any]:
    raw = json.loads((data_dir / "squad2-dev-5articles" / "dev.json").read_text("utf-8"))
    articles: list[tuple[list[Block], list[str], list[str]]] = []
    for article in raw["data"]:
        blocks = [Block(text=p["context"]) for p in article["paragraphs"]]
        qas = [qa for p in article["paragraphs"] for qa in p["qas"]]
        answerable = [qa["question"] for qa in qas if not qa.get("is_impossible")]
        impossible = [qa["question"] for qa in qas if qa.get("is_impossible")]
        articles.append((blocks, answerable, impossible))
    every_block = [b for blocks, _, _ in articles for b in blocks]
    answerable = [q for _, qs, _ in articles for q in qs]
    impossible = [q for _, _, qs in articles for q in qs]
    on_answerable = _evidence(every_block, answerable)
    on_impossible = _evidence(every_block, impossible)
    off_material: list[float] = []
    for n, (_, questions, _) in enumerate(articles):
        others = [b for m, (blocks, _, _) in enumerate(articles) if m != n for b in blocks]
        off_material += _evidence(others, questions)
    false_abstentions = sum(e < threshold for e in on_answerable)
    return {
        "threshold": threshold,
        "answerable": len(answerable),
        "answered_rate": round(1 - false_abstentions / len(answerable), 4),
        "squad2_impossible": {
            "questions": len(impossible),
            **_rates(
                false_abstentions,
                sum(e < threshold for e in on_impossible),
                len(impossible),
            ),
        },
        "off_material": {
            "questions": len(off_material),
            **_rates(
                false_abstentions,
                sum(e < threshold for e in off_material),
                len(off_material),
            ),
        },
    }
