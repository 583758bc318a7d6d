"""Readers for the binary formats; called only through ``extract.extract_blocks``.

They may raise anything their libraries raise; ``extract_blocks`` converts it.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

import docx
from pptx import Presentation
from pypdf import PasswordType, PdfReader

from studyhall.study.engine.bidi import logical_order
from studyhall.study.engine.blocks import Block, ExtractionError, normalize_text

__all__ = ["docx_blocks", "pdf_blocks", "pptx_blocks"]


def _pdf_outline(reader: Any) -> list[tuple[int, str]]:
    """(0-based page, title) for every bookmark, in reading order; [] when there is none."""
    found: list[tuple[int, str]] = []

    def walk(items: Any) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item)
                continue
            page = reader.get_destination_page_number(item)
            title = " ".join(str(getattr(item, "title", "") or "").split())
            if page is not None and page >= 0 and title:
                found.append((page, title))

    try:
        walk(reader.outline)
    except Exception:
        # A broken outline should not cost the user the text; headings are a bonus here.
        return []
    found.sort(key=lambda pair: pair[0])
    return found


def pdf_blocks(data: bytes, *, max_pages: int) -> list[Block]:
    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        # Many PDFs are "encrypted" only to restrict printing, with an empty user password.
        try:
            opened = reader.decrypt("")
        except Exception as exc:
            raise ExtractionError("encrypted_file", "the PDF is password-protected") from exc
        if opened == PasswordType.NOT_DECRYPTED:
            raise ExtractionError("encrypted_file", "the PDF is password-protected")
    n_pages = len(reader.pages)
    if n_pages > max_pages:
        raise ExtractionError("too_large", f"the PDF has {n_pages} pages (limit {max_pages})")
    outline = _pdf_outline(reader)
    blocks: list[Block] = []
    heading: str | None = None
    cursor = 0
    for number, page in enumerate(reader.pages):
        # The heading of a page is the last bookmark that starts on or before it.
        while cursor < len(outline) and outline[cursor][0] <= number:
            heading = outline[cursor][1]
            cursor += 1
        text = normalize_text(logical_order(page.extract_text() or ""))
        if text:
            blocks.append(Block(text=text, page=number + 1, heading=heading))
    return blocks


_HEADING_STYLE = re.compile(r"^(?:heading\s*(\d)|title)$", re.IGNORECASE)


def _docx_heading_level(paragraph: Any) -> int | None:
    try:
        name = (paragraph.style.name or "") if paragraph.style is not None else ""
    except Exception:
        return None
    match = _HEADING_STYLE.match(name.strip())
    if not match:
        return None
    return int(match.group(1)) if match.group(1) else 0


def _table_text(table: Any) -> str:
    rows: list[str] = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            value = " ".join(cell.text.split())
            # Merged cells repeat the same cell object along the row.
            if value and (not cells or cells[-1] != value):
                cells.append(value)
        if cells:
            rows.append(" | ".join(cells))
    return "\n".join(rows)


def docx_blocks(data: bytes) -> list[Block]:
    document = docx.Document(io.BytesIO(data))
    blocks: list[Block] = []
    heading: str | None = None
    parts: list[str] = []

    def flush() -> None:
        body = normalize_text("\n\n".join(parts))
        if body:
            blocks.append(Block(text=body, heading=heading))
        parts.clear()

    for item in document.iter_inner_content():
        if hasattr(item, "rows"):
            parts.append(_table_text(item))
            continue
        text = item.text.strip()
        if not text:
            continue
        if _docx_heading_level(item) is not None:
            flush()
            heading = " ".join(text.split())
            continue
        parts.append(text)
    flush()
    return blocks


def _shapes(shapes: Any) -> Iterator[Any]:
    for shape in shapes:
        if getattr(shape, "shape_type", None) is not None and hasattr(shape, "shapes"):
            yield from _shapes(shape.shapes)
        else:
            yield shape


def _shape_text(shape: Any) -> str:
    if getattr(shape, "has_table", False):
        return _table_text(shape.table)
    if getattr(shape, "has_text_frame", False):
        lines = (paragraph.text.strip() for paragraph in shape.text_frame.paragraphs)
        return "\n".join(line for line in lines if line)
    return ""


def pptx_blocks(data: bytes, *, max_slides: int) -> list[Block]:
    presentation = Presentation(io.BytesIO(data))
    slides = list(presentation.slides)
    if len(slides) > max_slides:
        raise ExtractionError(
            "too_large", f"the deck has {len(slides)} slides (limit {max_slides})"
        )
    blocks: list[Block] = []
    for number, slide in enumerate(slides, start=1):
        title_shape = slide.shapes.title
        title = " ".join(title_shape.text_frame.text.split()) if title_shape is not None else ""
        parts: list[str] = []
        for shape in _shapes(slide.shapes):
            if title_shape is not None and shape.shape_id == title_shape.shape_id:
                continue
            text = _shape_text(shape)
            if text:
                parts.append(text)
        if slide.has_notes_slide:
            notes = slide.notes_slide.notes_text_frame
            if notes is not None and notes.text.strip():
                parts.append(notes.text.strip())
        body = normalize_text("\n\n".join(parts))
        if body:
            blocks.append(Block(text=body, slide=number, heading=title or None))
    return blocks
