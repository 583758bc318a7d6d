"""Pydantic payloads of study artifacts, shared by the offline engine and the LLM engine.

The same models validate what either engine produces before it is stored as JSONB, so a
field added here is a schema change for stored artifacts.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

__all__ = [
    "BLANK",
    "Citation",
    "Flashcard",
    "GroundedAnswer",
    "QuizOption",
    "QuizQuestion",
    "Summary",
    "SummarySentence",
]

BLANK = "_____"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Citation(_Model):
    """A span of a stored chunk: ``chunk_text[start:end]`` is the cited sentence."""

    chunk_id: str = Field(min_length=1)
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    material_id: str | None = None
    page: int | None = Field(default=None, ge=1)
    slide: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> Citation:
        if self.end <= self.start:
            raise ValueError("citation end must be after start")
        return self


class SummarySentence(_Model):
    text: str = Field(min_length=1)
    citations: list[Citation] = Field(min_length=1)


class Summary(_Model):
    sentences: list[SummarySentence]
    engine: Literal["offline", "llm"] = "offline"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def citations(self) -> list[Citation]:
        """Every cited span once, in summary order."""
        seen: dict[tuple[str, int, int], Citation] = {}
        for sentence in self.sentences:
            for citation in sentence.citations:
                seen.setdefault((citation.chunk_id, citation.start, citation.end), citation)
        return list(seen.values())


class Flashcard(_Model):
    """``cloze``: the front is a source sentence with the answer replaced by ``BLANK``."""

    kind: Literal["cloze", "basic"] = "cloze"
    front: str = Field(min_length=1)
    back: str = Field(min_length=1)
    citations: list[Citation] = Field(min_length=1)
    engine: Literal["offline", "llm"] = "offline"


class QuizOption(_Model):
    text: str = Field(min_length=1)
    correct: bool


class QuizQuestion(_Model):
    stem: str = Field(min_length=1)
    options: list[QuizOption]
    explanation: str = Field(min_length=1)
    citations: list[Citation] = Field(min_length=1)
    engine: Literal["offline", "llm"] = "offline"

    @property
    def answer(self) -> str | None:
        correct = [option.text for option in self.options if option.correct]
        return correct[0] if len(correct) == 1 else None


class GroundedAnswer(_Model):
    """An answer built only from retrieved chunks; ``text`` carries [n] citation markers."""

    text: str
    quotes: list[SummarySentence]
    grounded: bool

    @computed_field  # type: ignore[prop-decorator]
    @property
    def citations(self) -> list[Citation]:
        return [citation for quote in self.quotes for citation in quote.citations]
