"""Validity rules for cards and questions, whichever engine produced them.

An LLM's output arrives as JSON; the same rules decide whether it is stored, repaired,
retried or replaced by the offline engine, so they accept raw mappings as well as models.
Each function returns a list of problems; an empty list means valid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from studyhall.study.engine.lexical import words
from studyhall.study.engine.schemas import BLANK, Citation, Flashcard, QuizQuestion

__all__ = ["validate_card", "validate_question"]

M = TypeVar("M", bound=BaseModel)


def _parse(payload: M | Mapping[str, Any], model: type[M]) -> tuple[M | None, list[str]]:
    if isinstance(payload, model):
        return payload, []
    try:
        return model.model_validate(payload), []
    except ValidationError as exc:
        problems = [
            f"schema: {'.'.join(str(p) for p in error['loc']) or '(root)'}: {error['msg']}"
            for error in exc.errors()
        ]
        return None, problems


def _tokens(text: str) -> list[str]:
    return words(text)


def _contains(haystack: Sequence[str], needle: Sequence[str]) -> bool:
    """Whole-word containment, so "art" is not found in "party"."""
    n = len(needle)
    return n > 0 and any(list(haystack[i : i + n]) == list(needle) for i in range(len(haystack)))


def _cited_spans(citations: Sequence[Citation], chunk_texts: Mapping[str, str]) -> list[str]:
    """Texts of the citations; raises ValueError naming the first one that does not resolve."""
    spans: list[str] = []
    for citation in citations:
        text = chunk_texts.get(citation.chunk_id)
        if text is None:
            raise ValueError(f"citation: chunk {citation.chunk_id!r} is not in the material")
        if citation.end > len(text):
            raise ValueError(f"citation: span {citation.start}-{citation.end} is outside the chunk")
        spans.append(text[citation.start : citation.end])
    return spans


def _answer_cited(answer: str, spans: Sequence[str]) -> bool:
    needle = _tokens(answer)
    return any(_contains(_tokens(span), needle) for span in spans)


def validate_card(card: Flashcard | Mapping[str, Any], chunk_texts: Mapping[str, str]) -> list[str]:
    """Problems with a flashcard; ``chunk_texts`` maps chunk id to the stored chunk text.

    Rules: schema valid; every citation resolves to a span of a known chunk; the answer is
    written in a cited span; a cloze front has a blank and does not give the answer away.
    """
    parsed, problems = _parse(card, Flashcard)
    if parsed is None:
        return problems
    try:
        spans = _cited_spans(parsed.citations, chunk_texts)
    except ValueError as exc:
        return [str(exc)]
    if not _answer_cited(parsed.back, spans):
        problems.append("answer: not present in the cited chunk text")
    if parsed.kind == "cloze":
        if BLANK not in parsed.front:
            problems.append("front: a cloze card needs a blank")
        if _contains(_tokens(parsed.front), _tokens(parsed.back)):
            problems.append("front: gives the answer away")
    return problems


def validate_question(
    question: QuizQuestion | Mapping[str, Any], chunk_texts: Mapping[str, str]
) -> list[str]:
    """Problems with a multiple-choice question; ``chunk_texts`` maps chunk id to text.

    Rules: schema valid; exactly 4 options, distinct ignoring case and spacing; exactly one
    correct; the correct answer is written in a cited span; no distractor contains the answer
    or is contained in it (ignoring case, spaces and punctuation); the stem does not contain
    the answer (whole words).
    """
    parsed, problems = _parse(question, QuizQuestion)
    if parsed is None:
        return problems
    try:
        spans = _cited_spans(parsed.citations, chunk_texts)
    except ValueError as exc:
        return [str(exc)]
    options = parsed.options
    if len(options) != 4:
        problems.append(f"options: need exactly 4, got {len(options)}")
    keys = [" ".join(_tokens(option.text)) for option in options]
    if any(not key for key in keys):
        problems.append("options: an option has no words")
    if len(set(keys)) != len(keys):
        problems.append("options: not distinct")
    correct = [option for option in options if option.correct]
    if len(correct) != 1:
        problems.append(f"options: need exactly one correct, got {len(correct)}")
        return problems
    answer = _tokens(correct[0].text)
    if not _answer_cited(correct[0].text, spans):
        problems.append("answer: not present in the cited chunk text")
    for option in options:
        if option.correct:
            continue
        # Compared without spaces and punctuation: "Warner" is inside "TimeWarner".
        other, flat = "".join(_tokens(option.text)), "".join(answer)
        if other and flat and (other in flat or flat in other):
            problems.append(f"options: distractor {option.text!r} overlaps the answer")
    if _contains(_tokens(parsed.stem), answer):
        problems.append("stem: gives the answer away")
    return problems
