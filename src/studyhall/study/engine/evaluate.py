"""Quality evaluation on the public evaluation sets (SQuAD, BBC summaries…; their README says
where each comes from).

Every runner goes through the production path (extract -> chunk -> index/summarize/generate)
so the figures describe what users get, not a side implementation.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studyhall.study.engine.chunk import Chunk, Passage, chunk_blocks
from studyhall.study.engine.extract import Block, extract_blocks
from studyhall.study.engine.generate import generate_flashcards, generate_questions
from studyhall.study.engine.lexical import BM25Index, analyze
from studyhall.study.engine.summarize import summarize
from studyhall.study.engine.validate import validate_card, validate_question

__all__ = [
    "RougeScore",
    "evaluate_all",
    "evaluate_generation",
    "evaluate_retrieval",
    "evaluate_summaries",
    "rouge_n",
]

_ROUGE_TOKEN = re.compile(r"[^\W_]+")


@dataclass(frozen=True, slots=True)
class RougeScore:
    precision: float
    recall: float
    f1: float


def _ngrams(text: str, n: int) -> Counter[tuple[str, ...]]:
    tokens = _ROUGE_TOKEN.findall(text.lower())
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def rouge_n(candidate: str, reference: str, n: int = 1) -> RougeScore:
    """ROUGE-N: clipped n-gram overlap of lowercased alphanumeric tokens; no stemming."""
    if n < 1:
        raise ValueError("n must be at least 1")
    cand, ref = _ngrams(candidate, n), _ngrams(reference, n)
    overlap = sum((cand & ref).values())
    if overlap == 0:
        return RougeScore(0.0, 0.0, 0.0)
    precision = overlap / sum(cand.values())
    recall = overlap / sum(ref.values())
    return RougeScore(precision, recall, 2 * precision * recall / (precision + recall))


# Retrieval --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Question:
    text: str
    block: int
    answers: tuple[tuple[str, int], ...]


def _squad(data_dir: Path) -> tuple[list[Block], list[_Question]]:
    raw = json.loads((data_dir / "squad2-dev-5articles" / "dev.json").read_text("utf-8"))
    blocks: list[Block] = []
    questions: list[_Question] = []
    for article in raw["data"]:
        for paragraph in article["paragraphs"]:
            # The paragraph is the block, as an extracted section would be. The article title
            # names the material, it is not a heading inside it, so it is not prefixed.
            blocks.append(Block(text=paragraph["context"]))
            for qa in paragraph["qas"]:
                if qa.get("is_impossible") or not qa["answers"]:
                    continue
                answers = tuple((a["text"], int(a["answer_start"])) for a in qa["answers"])
                questions.append(_Question(qa["question"], len(blocks) - 1, answers))
    return blocks, questions


def _contains_answer(chunk: Chunk, question: _Question) -> bool:
    return any(text in chunk.body for text, _ in question.answers)


def _covers_gold_span(chunk: Chunk, question: _Question) -> bool:
    return chunk.block_index == question.block and any(
        chunk.start <= start and start + len(text) <= chunk.end for text, start in question.answers
    )


def evaluate_retrieval(data_dir: Path, *, k1: float = 1.2, b: float = 0.75) -> dict[str, Any]:
    """hit@1/3/5 and MRR of BM25 over our chunks for the answerable SQuAD questions.

    ``hit@k``: a top-k chunk contains an answer text. ``span_hit@k`` is stricter: a top-k
    chunk covers the annotated answer span in its own paragraph.
    """
    blocks, questions = _squad(data_dir)
    chunks = chunk_blocks(blocks)
    index = BM25Index((analyze(chunk.text) for chunk in chunks), k1=k1, b=b)
    figures: dict[str, Any] = {"questions": len(questions), "chunks": len(chunks)}
    for name, hit in (("", _contains_answer), ("span_", _covers_gold_span)):
        hits = {1: 0, 3: 0, 5: 0}
        reciprocal = 0.0
        for question in questions:
            ranked = index.search(question.text, k=10)
            rank = next(
                (r for r, (i, _) in enumerate(ranked, start=1) if hit(chunks[i], question)),
                None,
            )
            if rank is None:
                continue
            reciprocal += 1.0 / rank
            for k in hits:
                hits[k] += rank <= k
        for k, count in hits.items():
            figures[f"{name}hit@{k}"] = round(count / len(questions), 4)
        figures[f"{name}mrr@10"] = round(reciprocal / len(questions), 4)
    return figures


# Summaries and generation -----------------------------------------------------------------


def _bbc(data_dir: Path) -> Iterator[tuple[str, list[Passage], list[str]]]:
    root = data_dir / "bbc-summaries"
    for article in sorted((root / "article").glob("*/*.txt")):
        relative = article.relative_to(root / "article")
        reference = (root / "summary" / relative).read_text("utf-8")
        blocks = extract_blocks(article.read_bytes(), article.name)
        passages = [
            chunk.to_passage(f"{relative.with_suffix('')}#{chunk.index}", str(relative))
            for chunk in chunk_blocks(blocks)
        ]
        yield str(relative), passages, [line for line in reference.splitlines() if line.strip()]


def evaluate_summaries(data_dir: Path) -> dict[str, Any]:
    """Mean ROUGE-1/2 F1 of ``summarize`` with k = number of reference sentences."""
    r1 = r2 = 0.0
    count = 0
    for _name, passages, reference in _bbc(data_dir):
        summary = summarize(passages, k=len(reference))
        candidate = " ".join(sentence.text for sentence in summary.sentences)
        r1 += rouge_n(candidate, " ".join(reference), 1).f1
        r2 += rouge_n(candidate, " ".join(reference), 2).f1
        count += 1
    return {"articles": count, "rouge1_f": round(r1 / count, 4), "rouge2_f": round(r2 / count, 4)}


def evaluate_generation(
    data_dir: Path, *, max_cards: int = 10, max_questions: int = 5
) -> dict[str, Any]:
    """Share of generated cards and questions over the BBC articles that pass validation."""
    cards = questions = valid_cards = valid_questions = 0
    without_questions = 0
    problems: list[str] = []
    for name, passages, _reference in _bbc(data_dir):
        texts = {passage.id: passage.text for passage in passages}
        made_cards = generate_flashcards(passages, max_cards=max_cards)
        made_questions = generate_questions(passages, max_questions=max_questions)
        without_questions += not made_questions
        for card in made_cards:
            found = validate_card(card, texts)
            valid_cards += not found
            problems += [f"{name}: {p}" for p in found]
        for question in made_questions:
            found = validate_question(question, texts)
            valid_questions += not found
            problems += [f"{name}: {p}" for p in found]
        cards += len(made_cards)
        questions += len(made_questions)
    total = cards + questions
    return {
        "cards": cards,
        "questions": questions,
        "articles_without_questions": without_questions,
        "card_validity": round(valid_cards / cards, 4) if cards else 0.0,
        "question_validity": round(valid_questions / questions, 4) if questions else 0.0,
        "validity": round((valid_cards + valid_questions) / total, 4) if total else 0.0,
        "problems": problems[:20],
    }


def evaluate_all(data_dir: Path) -> dict[str, Any]:
    return {
        "retrieval": evaluate_retrieval(data_dir),
        "summaries": evaluate_summaries(data_dir),
        "generation": evaluate_generation(data_dir),
    }
