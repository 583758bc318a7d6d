"""Text extraction that keeps the structure citations need: pages, slides and headings.

The type is decided from the bytes, never from the declared file name alone: uploads are
untrusted. Every failure, including any exception raised inside pypdf, python-docx or
python-pptx, leaves this module as an ``ExtractionError`` with a stable code, so a job can mark
the material ``failed`` with a message a person can act on.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from typing import Literal

from studyhall.study.engine import formats
from studyhall.study.engine.blocks import Block, ErrorCode, ExtractionError, normalize_text

__all__ = [
    "DEFAULT_MAX_BYTES",
    "Block",
    "DocumentKind",
    "ErrorCode",
    "ExtractionError",
    "ZipLimits",
    "detect_type",
    "extract_blocks",
    "normalize_text",
]

DocumentKind = Literal["pdf", "docx", "pptx", "markdown", "text"]
DEFAULT_MAX_BYTES = 25 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ZipLimits:
    """Bounds checked on the zip directory before any DOCX/PPTX member is decompressed.

    Office XML compresses 5-30x; a ratio in the hundreds is a bomb, not a document.
    CPython's zipfile stops decompressing a member at its declared size, so checking declared
    sizes bounds the real work as well.
    """

    max_members: int = 5000
    max_uncompressed_bytes: int = 256 * 1024 * 1024
    max_ratio: float = 200.0
    ratio_floor_bytes: int = 1024 * 1024
    """Members smaller than this are not ratio-checked: tiny XML parts compress very well."""


_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_KNOWN_BINARIES: tuple[tuple[bytes, str], ...] = (
    (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        "legacy Office file (.doc/.ppt); save it as DOCX or PPTX",
    ),
    (b"{\\rtf", "RTF document; save it as DOCX or PDF"),
    (b"\x89PNG", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF8", "GIF image"),
    (b"\x1f\x8b", "gzip archive"),
    (b"7z\xbc\xaf", "7z archive"),
    (b"Rar!", "RAR archive"),
)
_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")


def _decode_text(data: bytes) -> str | None:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            return None
    if b"\x00" in data:
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    # Windows-1252 notes are common; accept them only when the bytes look like text, since
    # cp1252 "decodes" most binary data too.
    controls = sum(1 for byte in data if byte < 32 and byte not in b"\t\n\r\f")
    if controls > len(data) // 200:
        return None
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return None


def _markdown_headings(lines: list[str]) -> list[tuple[int, int, str]]:
    """(line index, lines consumed, heading text) for ATX and setext headings outside fences."""
    headings: list[tuple[int, int, str]] = []
    in_fence: str | None = None
    for i, line in enumerate(lines):
        fence = _FENCE.match(line)
        if fence:
            marker = fence.group(1)
            in_fence = None if in_fence == marker else (in_fence or marker)
            continue
        if in_fence:
            continue
        atx = _ATX.match(line)
        if atx and atx.group(2):
            headings.append((i, 1, atx.group(2)))
            continue
        if (
            i > 0
            and _SETEXT.match(line)
            and lines[i - 1].strip()
            and not _ATX.match(lines[i - 1])
            and not (headings and headings[-1][0] + headings[-1][1] > i - 1)
            and (i == 1 or not lines[i - 2].strip())
        ):
            headings.append((i - 1, 2, lines[i - 1].strip()))
    return headings


def _zip_kind(data: bytes, limits: ZipLimits) -> DocumentKind:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            if len(members) > limits.max_members:
                raise ExtractionError(
                    "zip_bomb", f"archive has {len(members)} members (limit {limits.max_members})"
                )
            total = 0
            for member in members:
                total += member.file_size
                if member.file_size >= limits.ratio_floor_bytes:
                    ratio = member.file_size / max(member.compress_size, 1)
                    if ratio > limits.max_ratio:
                        raise ExtractionError(
                            "zip_bomb",
                            f"member {member.filename!r} expands {ratio:.0f}x "
                            f"(limit {limits.max_ratio:.0f}x)",
                        )
                if member.flag_bits & 0x1:
                    raise ExtractionError("encrypted_file", "the document is password-protected")
            if total > limits.max_uncompressed_bytes:
                raise ExtractionError(
                    "zip_bomb",
                    f"archive expands to {total} bytes (limit {limits.max_uncompressed_bytes})",
                )
            names = {member.filename for member in members}
            content_types = ""
            if "[Content_Types].xml" in names:
                content_types = archive.read("[Content_Types].xml").decode("utf-8", "replace")
    except ExtractionError:
        raise
    except Exception as exc:
        raise ExtractionError("corrupt_file", "the file is a damaged ZIP container") from exc
    if "wordprocessingml.document.main" in content_types or "word/document.xml" in names:
        return "docx"
    if "presentationml.presentation.main" in content_types or "ppt/presentation.xml" in names:
        return "pptx"
    if "spreadsheetml" in content_types:
        raise ExtractionError("unsupported_type", "spreadsheets are not supported")
    raise ExtractionError("unsupported_type", "ZIP archives other than DOCX/PPTX are not supported")


def _looks_like_markdown(text: str, filename: str) -> bool:
    if filename.lower().endswith((".md", ".markdown")):
        return True
    return bool(_markdown_headings(text.split("\n")))


def _sniff(data: bytes, filename: str, limits: ZipLimits) -> tuple[DocumentKind, str | None]:
    """The document kind and, for text kinds, the decoded text."""
    # The PDF header may follow up to 1 KiB of junk (some generators prepend bytes).
    if b"%PDF-" in data[:1024]:
        return "pdf", None
    if data.startswith(_ZIP_MAGIC):
        return _zip_kind(data, limits), None
    for magic, what in _KNOWN_BINARIES:
        if data.startswith(magic):
            raise ExtractionError("unsupported_type", f"unsupported file type: {what}")
    text = _decode_text(data)
    if text is None:
        raise ExtractionError(
            "unsupported_type", "unsupported binary file; upload PDF, DOCX, PPTX, Markdown or text"
        )
    if not text.strip():
        raise ExtractionError("empty_file", "the file contains only whitespace")
    return ("markdown" if _looks_like_markdown(text, filename) else "text"), text


def detect_type(
    data: bytes, filename: str = "", *, zip_limits: ZipLimits | None = None
) -> DocumentKind:
    """The content-detected kind; raises ``ExtractionError`` like ``extract_blocks``."""
    if not data:
        raise ExtractionError("empty_file", "the file is empty")
    return _sniff(data, filename, zip_limits or ZipLimits())[0]


def _markdown_blocks(text: str) -> list[Block]:
    text = normalize_text(text)
    # YAML front matter is metadata, not study content.
    front = re.match(r"---\n.*?\n---\n", text, flags=re.DOTALL)
    if front:
        text = text[front.end() :]
    lines = text.split("\n")
    blocks: list[Block] = []
    heading: str | None = None
    position = 0

    def flush(end: int) -> None:
        body = normalize_text("\n".join(lines[position:end]))
        if body:
            blocks.append(Block(text=body, heading=heading))

    for index, consumed, title in _markdown_headings(lines):
        flush(index)
        heading = title.strip().strip("*_`").strip() or None
        position = index + consumed
    flush(len(lines))
    return blocks


def extract_blocks(
    data: bytes,
    filename: str = "",
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pages: int = 2000,
    zip_limits: ZipLimits | None = None,
) -> list[Block]:
    """Blocks of text with their page (PDF), slide (PPTX) or heading (DOCX, Markdown).

    PDF gives one block per page with text, PPTX one per slide (title as heading, speaker
    notes appended), DOCX and Markdown one per heading section (paragraphs separated by a
    blank line), plain text a single block. ``filename`` is a hint for Markdown and is used
    in messages; the kind comes from the content.
    """
    if len(data) > max_bytes:
        raise ExtractionError(
            "too_large", f"the file is {len(data)} bytes; the limit is {max_bytes} bytes"
        )
    if not data.strip():
        raise ExtractionError("empty_file", "the file is empty")
    kind, text = _sniff(data, filename, zip_limits or ZipLimits())
    try:
        if kind == "pdf":
            blocks = formats.pdf_blocks(data, max_pages=max_pages)
        elif kind == "docx":
            blocks = formats.docx_blocks(data)
        elif kind == "pptx":
            blocks = formats.pptx_blocks(data, max_slides=max_pages)
        elif kind == "markdown":
            blocks = _markdown_blocks(text or "")
        else:
            body = normalize_text(text or "")
            blocks = [Block(text=body)] if body else []
    except ExtractionError:
        raise
    except RecursionError as exc:
        raise ExtractionError("corrupt_file", f"the {kind.upper()} is nested too deeply") from exc
    except Exception as exc:
        raise ExtractionError(
            "corrupt_file", f"the {kind.upper()} file could not be read ({type(exc).__name__})"
        ) from exc
    if not blocks:
        hint = " (a scanned PDF needs OCR first)" if kind == "pdf" else ""
        raise ExtractionError("no_text", f"the file contains no extractable text{hint}")
    return blocks
