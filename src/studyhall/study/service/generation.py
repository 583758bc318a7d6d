"""Artifact generation: the LLM engine when configured, the offline engine always behind it.

LLM output must pass the same validity rules as the offline engine's (``engine.validate``);
invalid output is sent back once with the problems listed, and if that fails too the offline
engine produces the artifact and the reason is recorded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from studyhall.study.engine.chunk import Passage, count_tokens
from studyhall.study.engine.generate import generate_flashcards, generate_questions
from studyhall.study.engine.lexical import analyze
from studyhall.study.engine.schemas import (
    Citation,
    Flashcard,
    QuizOption,
    QuizQuestion,
    Summary,
    SummarySentence,
)
from studyhall.study.engine.summarize import summarize
from studyhall.study.engine.validate import validate_card, validate_question
from studyhall.study.providers.llm import LlmClient, LlmError
from studyhall.study.service.quota import OFFLINE_MODEL
from studyhall.study.service.quota import UsageCall as Call

__all__ = [
    "Call",
    "Generated",
    "GenerationError",
    "NoFairQuestions",
    "generate",
    "resolve_quote",
]

Kind = Literal["summary", "flashcards", "quiz"]


class GenerationError(Exception):
    """The material cannot give this artifact (too little text), whatever the engine.
    ``code`` is stable: a client polling the artifact branches on it."""

    code = "material_too_short"


class NoFairQuestions(GenerationError):
    """The material has enough text for cards, but no answer of it has three wrong options of
    its own kind, so no question would be fair: its flashcards are the way to study it."""

    code = "quiz_no_fair_questions"

    def __init__(self) -> None:
        super().__init__(
            "no fair multiple-choice question could be made from this material (no answer in it "
            "has three wrong options of its own kind); its flashcards can be studied instead"
        )


@dataclass
class Generated:
    payload: dict[str, Any]
    engine: Literal["offline", "llm"]
    model: str
    calls: list[Call] = field(default_factory=list)
    note: str | None = None


# Offline ---------------------------------------------------------------------------------


def _offline(kind: Kind, passages: Sequence[Passage], max_items: int) -> dict[str, Any]:
    texts = {p.id: p.text for p in passages}
    if kind == "summary":
        summary = summarize(passages, k=max_items)
        if not summary.sentences:
            raise GenerationError("the material has no full sentences to summarise")
        return summary.model_dump(mode="json")
    if kind == "flashcards":
        cards = [
            c
            for c in generate_flashcards(passages, max_cards=max_items)
            if not validate_card(c, texts)
        ]
        if not cards:
            raise GenerationError("the material has too little text to make flashcards")
        return {"cards": [c.model_dump(mode="json") for c in cards]}
    questions = [
        q
        for q in generate_questions(passages, max_questions=max_items)
        if not validate_question(q, texts)
    ]
    if not questions:
        raise _why_no_questions(passages, max_items, texts)
    return {"questions": [q.model_dump(mode="json") for q in questions]}


def _why_no_questions(
    passages: Sequence[Passage], max_items: int, texts: dict[str, str]
) -> GenerationError:
    """Too little text, or text whose answers have no fair wrong options: told apart by whether
    the engine finds a card to make (every question is a card with options)."""
    cards = generate_flashcards(passages, max_cards=max_items)
    if any(not validate_card(card, texts) for card in cards):
        return NoFairQuestions()
    return GenerationError("the material has too little text to make a quiz")


def _texts(payload: dict[str, Any]) -> list[str]:
    """The words an engine wrote (what a model would be billed for), without JSON scaffolding."""
    texts = [s["text"] for s in payload.get("sentences", [])]
    texts += [f"{c['front']} {c['back']}" for c in payload.get("cards", [])]
    for q in payload.get("questions", []):
        texts += [q["stem"], q["explanation"], *(o["text"] for o in q["options"])]
    return texts


def offline(kind: Kind, passages: Sequence[Passage], max_items: int) -> Generated:
    payload = _offline(kind, passages, max_items)
    prompt = sum(count_tokens(p.text) for p in passages)
    completion = count_tokens(" ".join(_texts(payload)))
    return Generated(
        payload, "offline", OFFLINE_MODEL, [Call(OFFLINE_MODEL, prompt, completion, "succeeded")]
    )


# LLM -------------------------------------------------------------------------------------


class _Sourced(BaseModel):
    source: str
    quote: str


class _Card(_Sourced):
    front: str
    back: str


class _Question(_Sourced):
    stem: str
    options: list[str]
    correct_option: int
    explanation: str


class _Sentence(_Sourced):
    text: str


_SOURCED = {"source": {"type": "string"}, "quote": {"type": "string"}}


def _array_schema(key: str, properties: dict[str, Any]) -> dict[str, Any]:
    item = {
        "type": "object",
        "properties": {**properties, **_SOURCED},
        "required": [*properties, *_SOURCED],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {key: {"type": "array", "items": item}},
        "required": [key],
        "additionalProperties": False,
    }


_STRING = {"type": "string"}
SCHEMAS: dict[Kind, dict[str, Any]] = {
    "summary": _array_schema("sentences", {"text": _STRING}),
    "flashcards": _array_schema("cards", {"front": _STRING, "back": _STRING}),
    "quiz": _array_schema(
        "questions",
        {
            "stem": _STRING,
            "options": {"type": "array", "items": _STRING, "minItems": 4, "maxItems": 4},
            "correct_option": {"type": "integer", "minimum": 0, "maximum": 3},
            "explanation": _STRING,
        },
    ),
}

_INSTRUCTIONS: dict[Kind, str] = {
    "summary": "Write a summary of at most {n} sentences.",
    "flashcards": "Write at most {n} question/answer flashcards; the answer is a short phrase.",
    "quiz": (
        "Write at most {n} multiple-choice questions with exactly 4 distinct options, exactly one "
        "correct (correct_option is its 0-based index); no wrong option may contain the answer "
        "and the stem must not contain it."
    ),
}


def _prompt(kind: Kind, passages: Sequence[Passage], max_items: int) -> list[dict[str, str]]:
    sources = "\n\n".join(f"[S{n}]\n{p.text}" for n, p in enumerate(passages, start=1))
    system = (
        "You make study material from the user's sources only. "
        + _INSTRUCTIONS[kind].format(n=max_items)
        + " For every item give `source` (a label such as S2) and `quote`: one sentence copied "
        "exactly from that source that supports the item and contains the answer. "
        "Reply with JSON matching the schema."
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": sources}]


def resolve_quote(passages: Sequence[Passage], source: str, quote: str) -> Citation | None:
    """The citation of ``quote`` inside source ``S<n>``; None when it is not there verbatim."""
    label = source.strip().lstrip("[").rstrip("]").upper()
    if not label.startswith("S") or not label[1:].isdigit():
        return None
    index = int(label[1:]) - 1
    quote = quote.strip()
    if not 0 <= index < len(passages) or not quote:
        return None
    passage = passages[index]
    start = passage.text.find(quote)
    if start < 0:
        return None
    return Citation(
        chunk_id=passage.id,
        start=start,
        end=start + len(quote),
        material_id=passage.material_id,
        page=passage.page,
        slide=passage.slide,
    )


def _parse(
    kind: Kind, content: str, passages: Sequence[Passage]
) -> tuple[dict[str, Any], list[str]]:
    """The payload built from the model's JSON, and every problem found in it."""
    try:
        raw = json.loads(content)
    except ValueError:
        return {}, ["the reply is not valid JSON"]
    key = {"summary": "sentences", "flashcards": "cards", "quiz": "questions"}[kind]
    models: dict[str, type[_Sourced]] = {
        "summary": _Sentence,
        "flashcards": _Card,
        "quiz": _Question,
    }
    model = models[kind]
    if not isinstance(raw, dict) or not isinstance(raw.get(key), list) or not raw[key]:
        return {}, [f"the reply needs a non-empty `{key}` array"]
    texts = {p.id: p.text for p in passages}
    problems: list[str] = []
    items: list[Any] = []
    for n, entry in enumerate(raw[key], start=1):
        try:
            item = model.model_validate(entry)
        except ValidationError as exc:
            problems.append(f"item {n}: {exc.errors()[0]['msg']}")
            continue
        citation = resolve_quote(passages, item.source, item.quote)
        if citation is None:
            problems.append(f"item {n}: the quote is not copied exactly from {item.source}")
            continue
        built, found = _build(item, citation, texts)
        problems += [f"item {n}: {p}" for p in found]
        items.append(built)
    if problems:
        return {}, problems
    if kind == "summary":
        return Summary(sentences=items, engine="llm").model_dump(mode="json"), []
    return {key: [i.model_dump(mode="json") for i in items]}, []


# A summary sentence may reword its quote but not add to it: at least this share of its content
# words (stemmed, stop words aside) must be in the quote, and every number in it. On the BBC
# reference summaries, a sentence checked against a wrong quote (the second-best sentence of its
# article) passes 0.6 in 1.9 % of cases (0.5: 10 %), so 0.6 is where borrowed quotes stop passing.
MIN_QUOTE_SUPPORT = 0.6
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def quote_support(sentence: str, quote: str) -> float:
    """The share of ``sentence``'s content words that ``quote`` holds (1.0 with none to hold)."""
    terms = set(analyze(sentence))
    return len(terms & set(analyze(quote))) / len(terms) if terms else 1.0


def _unsupported(item: _Sentence) -> list[str]:
    problems = []
    support = quote_support(item.text, item.quote)
    if support < MIN_QUOTE_SUPPORT:
        problems.append(
            f"the sentence says more than its quote ({support:.0%} of its words are in it)"
        )
    missing = set(_NUMBER.findall(item.text)) - set(_NUMBER.findall(item.quote))
    if missing:
        problems.append(f"the numbers {', '.join(sorted(missing))} are not in the quote")
    return problems


def _build(
    item: _Sourced, citation: Citation, texts: dict[str, str]
) -> tuple[BaseModel, list[str]]:
    if isinstance(item, _Sentence):
        return SummarySentence(text=item.text, citations=[citation]), _unsupported(item)
    try:
        if isinstance(item, _Card):
            card = Flashcard(
                kind="basic", front=item.front, back=item.back, citations=[citation], engine="llm"
            )
            return card, validate_card(card, texts)
        assert isinstance(item, _Question)
        options = [
            QuizOption(text=o, correct=i == item.correct_option) for i, o in enumerate(item.options)
        ]
        question = QuizQuestion(
            stem=item.stem,
            options=options,
            explanation=item.explanation,
            citations=[citation],
            engine="llm",
        )
    except ValidationError as exc:
        return item, [str(exc.errors()[0]["msg"])]
    return question, validate_question(question, texts)


async def _llm(
    client: LlmClient, kind: Kind, passages: Sequence[Passage], max_items: int, max_tokens: int
) -> tuple[dict[str, Any] | None, list[Call], str]:
    messages = _prompt(kind, passages, max_items)
    calls: list[Call] = []
    reason = ""
    for _attempt in range(2):
        try:
            result = await client.chat(
                messages, max_tokens=max_tokens, schema=SCHEMAS[kind], schema_name=kind
            )
        except LlmError as exc:
            calls.append(Call(client.model, 0, 0, "failed", exc.message))
            reason = f"model call failed: {exc.message}"
            continue
        payload, problems = _parse(kind, result.content, passages)
        ok = not problems
        calls.append(
            Call(
                result.model,
                result.prompt_tokens,
                result.completion_tokens,
                "succeeded" if ok else "failed",
                None if ok else "; ".join(problems)[:500],
            )
        )
        if ok:
            return payload, calls, ""
        reason = "invalid model output: " + "; ".join(problems[:5])
        # One repair round: the model sees its reply and exactly what was wrong with it.
        messages = [
            *messages[:2],
            {"role": "assistant", "content": result.content},
            {
                "role": "user",
                "content": "Fix these problems and reply with the full JSON again:\n- "
                + "\n- ".join(problems[:20]),
            },
        ]
    return None, calls, reason


async def generate(
    kind: Kind,
    passages: Sequence[Passage],
    max_items: int,
    client: LlmClient | None,
    *,
    max_tokens: int = 1024,
) -> Generated:
    if not passages:
        raise GenerationError("the material has no text")
    if client is None:
        return offline(kind, passages, max_items)
    payload, calls, reason = await _llm(client, kind, passages, max_items, max_tokens)
    if payload is not None:
        return Generated(payload, "llm", calls[-1].model or client.model, calls)
    fallback = offline(kind, passages, max_items)
    fallback.calls = calls + fallback.calls
    fallback.note = reason
    return fallback
