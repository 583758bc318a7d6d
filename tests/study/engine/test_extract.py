from __future__ import annotations

import io
import zipfile
from typing import get_args

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from study_engine_docs import encrypt_pdf, make_docx, make_pdf, make_pptx

from studyhall.study.engine.extract import (
    Block,
    ErrorCode,
    ExtractionError,
    ZipLimits,
    detect_type,
    extract_blocks,
)


def _error(data: bytes, filename: str = "upload", **kwargs: object) -> ExtractionError:
    with pytest.raises(ExtractionError) as caught:
        extract_blocks(data, filename, **kwargs)  # type: ignore[arg-type]
    return caught.value


# PDF -------------------------------------------------------------------------------------


def test_pdf_gives_one_block_per_page_with_page_numbers() -> None:
    data = make_pdf(
        [
            ["Cells are the basic unit of life.", "Mitochondria produce ATP."],
            [],  # a page without text (a scan) yields no block but keeps numbering
            ["Photosynthesis (in plants) makes glucose."],
        ]
    )
    assert extract_blocks(data, "biology.pdf") == [
        Block(text="Cells are the basic unit of life.\nMitochondria produce ATP.", page=1),
        Block(text="Photosynthesis (in plants) makes glucose.", page=3),
    ]


def test_pdf_bookmarks_become_headings_of_the_pages_they_start_on() -> None:
    data = make_pdf(
        [["Intro text."], ["More intro."], ["Cell text."], ["Plant text."]],
        outline=[("Introduction", 0), ("Cells", 2), ("Plants", 3)],
    )
    assert [(b.page, b.heading) for b in extract_blocks(data, "b.pdf")] == [
        (1, "Introduction"),
        (2, "Introduction"),
        (3, "Cells"),
        (4, "Plants"),
    ]


def test_pdf_with_empty_user_password_opens() -> None:
    data = encrypt_pdf(make_pdf([["Open to all."]]), "")
    assert extract_blocks(data, "open.pdf") == [Block(text="Open to all.", page=1)]


def test_password_protected_pdf_is_rejected() -> None:
    error = _error(encrypt_pdf(make_pdf([["Secret."]]), "hunter2"), "secret.pdf")
    assert (error.code, error.message) == ("encrypted_file", "the PDF is password-protected")


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.4\nthis is not a pdf at all",
        make_pdf([["Some text that will be cut."]])[:120],
        b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 9 0 R >>\nendobj\ntrailer\n<< >>\n%%EOF",
    ],
    ids=["garbage", "truncated", "dangling-refs"],
)
def test_corrupt_pdf_is_a_corrupt_file_error(data: bytes) -> None:
    assert _error(data, "broken.pdf").code == "corrupt_file"


def test_pdf_without_text_is_no_text() -> None:
    error = _error(make_pdf([[], []]), "scan.pdf")
    assert error.code == "no_text"
    assert error.message == "the file contains no extractable text (a scanned PDF needs OCR first)"


def test_pdf_page_limit() -> None:
    error = _error(make_pdf([["a."], ["b."], ["c."]]), "long.pdf", max_pages=2)
    assert (error.code, error.message) == ("too_large", "the PDF has 3 pages (limit 2)")


# DOCX ------------------------------------------------------------------------------------


def _biology_docx(document: object) -> None:
    d = document
    d.add_paragraph("Course notes, week 1.")  # type: ignore[attr-defined]
    d.add_heading("Cells", level=1)  # type: ignore[attr-defined]
    d.add_paragraph("Cells are the basic unit of life.")  # type: ignore[attr-defined]
    d.add_paragraph("   ")  # type: ignore[attr-defined]
    d.add_paragraph("They divide by mitosis.")  # type: ignore[attr-defined]
    table = d.add_table(rows=2, cols=2)  # type: ignore[attr-defined]
    for (r, c), value in {(0, 0): "Organelle", (0, 1): "Role", (1, 0): "Ribosome"}.items():
        table.cell(r, c).text = value
    table.cell(1, 1).text = "Protein synthesis"
    d.add_heading("Energy", level=2)  # type: ignore[attr-defined]
    d.add_paragraph("Mitochondria make ATP.")  # type: ignore[attr-defined]
    d.add_heading("Empty section", level=2)  # type: ignore[attr-defined]
    d.add_heading("Summary", level=1)  # type: ignore[attr-defined]
    d.add_paragraph("Life is cellular.")  # type: ignore[attr-defined]


def test_docx_sections_follow_heading_styles() -> None:
    data = make_docx(_biology_docx)
    assert detect_type(data, "notes.pdf") == "docx"  # the content decides, not the name
    assert extract_blocks(data, "notes.docx") == [
        Block(text="Course notes, week 1."),
        Block(
            text=(
                "Cells are the basic unit of life.\n\nThey divide by mitosis.\n\n"
                "Organelle | Role\nRibosome | Protein synthesis"
            ),
            heading="Cells",
        ),
        Block(text="Mitochondria make ATP.", heading="Energy"),
        Block(text="Life is cellular.", heading="Summary"),
    ]


def test_docx_title_style_is_a_heading() -> None:
    def build(d: object) -> None:
        d.add_heading("Biology 101", level=0)  # type: ignore[attr-defined]
        d.add_paragraph("Welcome.")  # type: ignore[attr-defined]

    assert extract_blocks(make_docx(build)) == [Block(text="Welcome.", heading="Biology 101")]


def _zip(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


_DOCX_TYPES = (
    b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
    b'content-types"><Override PartName="/word/document.xml" ContentType="application/'
    b'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
)


def test_docx_zip_bomb_is_rejected_before_decompression() -> None:
    # 16 MiB of spaces deflates to 16 KiB: a 1000x ratio no real document has.
    bomb = _zip({"[Content_Types].xml": _DOCX_TYPES, "word/document.xml": b" " * (16 << 20)})
    assert len(bomb) < 20_000
    error = _error(bomb, "bomb.docx")
    assert error.code == "zip_bomb"
    assert error.message == "member 'word/document.xml' expands 1029x (limit 200x)"


def test_zip_total_size_and_member_count_limits() -> None:
    many = _zip({"[Content_Types].xml": _DOCX_TYPES, **{f"f{i}.xml": b"x" for i in range(20)}})
    error = _error(many, "many.docx", zip_limits=ZipLimits(max_members=10))
    assert (error.code, error.message) == ("zip_bomb", "archive has 21 members (limit 10)")
    stored = _zip({"[Content_Types].xml": _DOCX_TYPES, "word/document.xml": b"y" * 5000})
    error = _error(stored, "big.docx", zip_limits=ZipLimits(max_uncompressed_bytes=4096))
    assert error.code == "zip_bomb"
    assert error.message.startswith("archive expands to ")


def test_docx_with_broken_xml_is_corrupt() -> None:
    broken = _zip({"[Content_Types].xml": _DOCX_TYPES, "word/document.xml": b"<w:document"})
    assert _error(broken, "broken.docx").code == "corrupt_file"


def test_truncated_zip_is_corrupt() -> None:
    data = make_docx(_biology_docx)
    assert _error(data[: len(data) // 2], "cut.docx").code == "corrupt_file"


# PPTX ------------------------------------------------------------------------------------


def _deck(presentation: object) -> None:
    p = presentation
    layouts = p.slide_layouts  # type: ignore[attr-defined]
    first = p.slides.add_slide(layouts[1])  # type: ignore[attr-defined]
    first.shapes.title.text = "Photosynthesis"
    body = first.placeholders[1].text_frame
    body.text = "Light reactions"
    body.add_paragraph().text = "Calvin cycle"
    first.notes_slide.notes_text_frame.text = "Mention chlorophyll."
    second = p.slides.add_slide(layouts[6])  # blank layout: no title placeholder
    box = second.shapes.add_textbox(0, 0, 1000, 1000)
    box.text_frame.text = "An untitled slide."
    third = p.slides.add_slide(layouts[5])  # title only, nothing else: no block
    third.shapes.title.text = "Questions?"
    fourth = p.slides.add_slide(layouts[5])
    fourth.shapes.title.text = "Respiration"
    table = fourth.shapes.add_table(2, 2, 0, 0, 1000, 1000).table
    table.cell(0, 0).text = "Stage"
    table.cell(0, 1).text = "ATP"
    table.cell(1, 0).text = "Glycolysis"
    table.cell(1, 1).text = "2"


def test_pptx_gives_one_block_per_slide_with_title_heading() -> None:
    data = make_pptx(_deck)
    assert detect_type(data, "deck.bin") == "pptx"
    assert extract_blocks(data, "deck.pptx") == [
        Block(
            text="Light reactions\nCalvin cycle\n\nMention chlorophyll.",
            slide=1,
            heading="Photosynthesis",
        ),
        Block(text="An untitled slide.", slide=2),
        Block(text="Stage | ATP\nGlycolysis | 2", slide=4, heading="Respiration"),
    ]


# Text and Markdown ----------------------------------------------------------------------


def test_markdown_headings_are_tracked_outside_code_fences() -> None:
    text = (
        "---\ntitle: Notes\n---\n"
        "Preface line.\n\n"
        "# Cells\n\nCells are small.\n\n```python\n# not a heading\nx = 1\n```\n\n"
        "## Energy ##\nATP is energy.\n\n"
        "Summary\n=======\n\nLife is cellular.\n"
    )
    assert detect_type(text.encode(), "notes.txt") == "markdown"
    assert extract_blocks(text.encode(), "notes.txt") == [
        Block(text="Preface line."),
        Block(text="Cells are small.\n\n```python\n# not a heading\nx = 1\n```", heading="Cells"),
        Block(text="ATP is energy.", heading="Energy"),
        Block(text="Life is cellular.", heading="Summary"),
    ]


def test_plain_text_is_one_normalised_block() -> None:
    data = "\ufeffFirst line.  \r\nSecond line.\r\n\r\n\r\n\r\nThird #1 line.\n".encode()
    assert detect_type(data, "a.md.txt") == "text"
    assert extract_blocks(data, "notes.txt") == [
        Block(text="First line.\nSecond line.\n\nThird #1 line.")
    ]


def test_windows_1252_and_utf16_text_decode() -> None:
    assert extract_blocks("Café au lait \u2013 5 €.".encode("cp1252")) == [
        Block(text="Café au lait \u2013 5 €.")
    ]
    assert extract_blocks("Grüße aus Köln.".encode("utf-16")) == [Block(text="Grüße aus Köln.")]


# Bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"   \n\t  ", "\ufeff \n".encode()])
def test_empty_file(data: bytes) -> None:
    assert _error(data).code == "empty_file"


def test_size_limit_is_checked_first() -> None:
    error = _error(b"x" * 101, "big.txt", max_bytes=100)
    assert (error.code, error.message) == (
        "too_large",
        "the file is 101 bytes; the limit is 100 bytes",
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            bytes(range(256)) * 4,
            "unsupported binary file; upload PDF, DOCX, PPTX, Markdown or text",
        ),
        (b"\x89PNG\r\n\x1a\n" + bytes(64), "unsupported file type: PNG image"),
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64),
            "unsupported file type: legacy Office file (.doc/.ppt); save it as DOCX or PPTX",
        ),
        (_zip({"readme.txt": b"hello"}), "ZIP archives other than DOCX/PPTX are not supported"),
        (
            _zip({"[Content_Types].xml": b"application/vnd.openxmlformats-spreadsheetml.x"}),
            "spreadsheets are not supported",
        ),
    ],
    ids=["random-binary", "png", "legacy-doc", "plain-zip", "xlsx"],
)
def test_unsupported_types(data: bytes, message: str) -> None:
    error = _error(data, "upload.pdf")
    assert (error.code, error.message) == ("unsupported_type", message)


_VALID = [make_pdf([["Alpha beta gamma."], ["Delta."]]), make_docx(_biology_docx), make_pptx(_deck)]


@settings(max_examples=90, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    which=st.sampled_from([0, 1, 2]),
    cut=st.integers(min_value=0, max_value=10_000),
    flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8),
)
def test_damaged_files_never_leak_library_exceptions(
    which: int, cut: int, flips: list[tuple[int, int]]
) -> None:
    data = bytearray(_VALID[which])
    for position, value in flips:
        data[position % len(data)] = value
    data = data[: max(1, len(data) - cut)]
    try:
        blocks = extract_blocks(bytes(data), "fuzz")
    except ExtractionError as error:
        # Any coded error is fine (a flipped flag bit can make a member look encrypted);
        # what must never happen is a raw pypdf / zipfile / lxml exception.
        assert error.code in get_args(ErrorCode)
    else:
        assert all(isinstance(block, Block) and block.text for block in blocks)


@settings(max_examples=150, deadline=None)
@given(data=st.one_of(st.binary(max_size=3000), st.text(max_size=3000).map(str.encode)))
def test_arbitrary_bytes_give_blocks_or_a_coded_error(data: bytes) -> None:
    try:
        blocks = extract_blocks(data, "anything")
    except ExtractionError as error:
        assert error.code in get_args(ErrorCode)
    else:
        assert blocks
        assert all(block.text == block.text.strip() != "" for block in blocks)
