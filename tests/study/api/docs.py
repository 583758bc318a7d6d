"""Builders of real documents for upload tests (no fixtures on disk)."""

from __future__ import annotations

import io
import zipfile

PHOTOSYNTHESIS = (
    "Photosynthesis is the process by which green plants convert light energy into chemical "
    "energy. Chlorophyll in the chloroplasts absorbs red and blue light most strongly. "
    "The light reactions take place in the thylakoid membranes and release oxygen as a "
    "by-product. The Calvin cycle in the stroma fixes carbon dioxide into sugars using ATP and "
    "NADPH. Rubisco is the enzyme that captures carbon dioxide in the Calvin cycle. "
    "Plants store the sugars they make as starch in their leaves and roots."
)

VOLCANOES = (
    "Volcanoes form where magma from the mantle reaches the surface of the Earth. Basalt "
    "lava is runny and builds wide shield volcanoes such as Mauna Loa in Hawaii. "
    "Andesite magma is sticky and traps gas, which causes explosive eruptions. A caldera is "
    "the large crater left when a magma chamber empties and collapses. Pyroclastic flows are "
    "fast currents of hot gas and volcanic ash that race down the slopes."
)


def _pdf_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(pages: list[str]) -> bytes:
    """A minimal, valid PDF with one text line per sentence on each page."""
    objects: list[bytes] = []
    page_ids = [3 + 2 * i for i in range(len(pages))]
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    kids = " ".join(f"{pid} 0 R" for pid in page_ids)
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    font_id = 3 + 2 * len(pages)
    for index, text in enumerate(pages):
        content_id = page_ids[index] + 1
        objects.append(
            (
                f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {content_id} 0 R "
                f"/Resources << /Font << /F1 {font_id} 0 R >> >> >>"
            ).encode()
        )
        lines = [s.strip() + "." for s in text.split(". ") if s.strip()]
        ops = ["BT", "/F1 10 Tf", "12 TL", "40 750 Td"]
        for line in lines:
            ops.append(f"({_pdf_escape(line.rstrip('.') + '.')}) Tj T*")
        ops.append("ET")
        stream = "\n".join(ops).encode()
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    return _pdf_file(objects)


def _pdf_file(objects: list[bytes]) -> bytes:
    """Numbered objects (the first the catalogue) with their cross-reference table."""
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return out.getvalue()


def make_docx(sections: list[tuple[str, str]]) -> bytes:
    import docx

    document = docx.Document()
    for heading, body in sections:
        document.add_heading(heading, level=1)
        document.add_paragraph(body)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def make_pptx(slides: list[tuple[str, str]]) -> bytes:
    from pptx import Presentation

    deck = Presentation()
    for title, body in slides:
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text = body
    buffer = io.BytesIO()
    deck.save(buffer)
    return buffer.getvalue()


def make_zip_bomb_docx() -> bytes:
    """A DOCX-shaped zip whose document part inflates 1000x: refused before decompression."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("word/document.xml", b"\0" * (50 * 1024 * 1024))
    return buffer.getvalue()


def _visual_runs(line: str) -> list[str]:
    """The runs of ``line`` in the order a PDF producer paints them, left to right, with the
    right-to-left ones reversed: the Unicode bidirectional algorithm at one embedding level
    (a neutral between two strong characters of one direction takes it, otherwise the
    paragraph's; digits read left to right). Arabic paragraphs start with an Arabic letter."""
    kinds = ["R" if "\u0600" <= c <= "\u06ff" else "L" if c.isalnum() else "N" for c in line]
    paragraph = next(k for k in kinds if k != "N")
    resolved = []
    for i, kind in enumerate(kinds):
        if kind == "N":
            before = next((k for k in reversed(kinds[:i]) if k != "N"), paragraph)
            after = next((k for k in kinds[i + 1 :] if k != "N"), paragraph)
            kind = before if before == after else paragraph
        resolved.append(kind)
    runs: list[tuple[str, str]] = []
    for char, kind in zip(line, resolved, strict=True):
        if runs and runs[-1][0] == kind:
            runs[-1] = (kind, runs[-1][1] + char)
        else:
            runs.append((kind, char))
    if paragraph == "R":
        runs.reverse()
    return [text[::-1] if kind == "R" else text for kind, text in runs]


def make_rtl_pdf(lines: list[str]) -> bytes:
    """A PDF whose text layer is written the way word processors write Arabic: glyphs painted
    in visual order (each direction run its own text-showing operator), a Type0 font with an
    Identity-H encoding and a ToUnicode map from glyph codes to letters."""
    chars = sorted({c for line in lines for c in line})
    code = {c: n + 1 for n, c in enumerate(chars)}
    cmap = "\n".join(
        [
            "/CIDInit /ProcSet findresource begin 12 dict begin begincmap",
            "/CMapName /Adobe-Identity-UCS def /CMapType 2 def",
            "1 begincodespacerange <0000> <FFFF> endcodespacerange",
            f"{len(chars)} beginbfchar",
            *(f"<{code[c]:04X}> <{ord(c):04X}>" for c in chars),
            "endbfchar endcmap CMapName currentdict /CMap defineresource pop end end",
        ]
    ).encode()
    ops = ["BT", "/F1 12 Tf"]
    for row, line in enumerate(lines):
        x = 40
        for run in _visual_runs(line):
            glyphs = "".join(f"{code[c]:04X}" for c in run)
            ops.append(f"1 0 0 1 {x} {750 - 16 * row} Tm <{glyphs}> Tj")
            x += 6 * len(run)
    ops.append("ET")
    content = "\n".join(ops).encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type0 /BaseFont /DejaVuSans /Encoding /Identity-H "
        b"/DescendantFonts [6 0 R] /ToUnicode 7 0 R >>",
        b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /DejaVuSans /CIDSystemInfo "
        b"<< /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /DW 600 >>",
        b"<< /Length %d >>\nstream\n" % len(cmap) + cmap + b"\nendstream",
    ]
    return _pdf_file(objects)


# A short news report: enough text for cards, but no answer in it (a person, a boat, traders,
# engineers, fares) has three wrong options of its own kind, so no question would be fair.
FERRY_NEWS = """# Harbour ferry returns after winter repairs

The Kelby harbour ferry will start sailing again on 3 March after a winter in dry dock.

The 40-year-old boat was taken out of service in November, when engineers found rust in its hull.
"The crew worked hard all winter and the boat is ready for spring," said harbourmaster Ellen Brodie.
Local traders had asked the council to bring the crossing back before the Easter holidays.
Brodie said fares would stay at last year's price for the whole season.
"""
