"""What extraction yields and how it fails: the ``Block`` a citation points to, the
``ExtractionError`` with its stable code, and the text normalisation every format shares.

Kept apart from ``extract`` (which sniffs the type and dispatches) so the per-format readers in
``formats`` use them without importing the dispatcher back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["Block", "ErrorCode", "ExtractionError", "normalize_text"]

ErrorCode = Literal[
    "empty_file",
    "too_large",
    "unsupported_type",
    "corrupt_file",
    "encrypted_file",
    "zip_bomb",
    "no_text",
]


class ExtractionError(Exception):
    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code: ErrorCode = code
        self.message = message

    def __repr__(self) -> str:
        return f"ExtractionError({self.code!r}, {self.message!r})"


@dataclass(frozen=True, slots=True)
class Block:
    """A unit of extracted text that one citation can point to."""

    text: str
    page: int | None = None
    slide: int | None = None
    heading: str | None = None


def normalize_text(text: str) -> str:
    """Unix newlines, no trailing spaces, at most one blank line in a row, no NULs."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip()
