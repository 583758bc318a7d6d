"""Language per chunk from the script of its letters, and Arabic PDF text in reading order."""

from __future__ import annotations

from tests.study.api.docs import make_rtl_pdf

from studyhall.study.engine.bidi import logical_order
from studyhall.study.engine.extract import extract_blocks
from studyhall.study.engine.language import detect_language, text_search_config

ARABIC_LINES = [
    "المكتبة العامة مفتوحة كل يوم.",
    "تعلم الآلة Machine Learning فرع من الذكاء الاصطناعي",
    "تأسست الجامعة في عام 1990 في القاهرة.",
    "The word كتاب means book.",
]


def test_language_follows_the_share_of_arabic_letters() -> None:
    assert detect_language("Photosynthesis happens in chloroplasts.") == "en"
    assert detect_language("التمثيل الضوئي عملية تصنع بها النباتات غذاءها") == "ar"
    assert detect_language("تنتج الميتوكوندريا جزيئات الطاقة في الخلية عبر التنفس ATP") == "ar"
    assert detect_language("الميتوكوندريا (mitochondria) تنتج ATP") == "mixed"
    assert detect_language("The caliph المأمون founded a library in Baghdad") == "mixed"
    assert detect_language("1990 - 2024") == "en"
    assert [text_search_config(x) for x in ("en", "ar", "mixed", None)] == [
        "english",
        "arabic_english",
        "arabic_english",
        "english",
    ]


def test_arabic_pdf_text_comes_out_in_reading_order() -> None:
    # Painted in visual order, as word processors write right-to-left text; pypdf alone puts
    # the runs of a mixed line, a number's neighbours and the final full stop out of order.
    (block,) = extract_blocks(make_rtl_pdf(ARABIC_LINES), "arabic.pdf")
    assert block.text.split("\n") == ARABIC_LINES


def test_presentation_forms_fold_to_letters_and_plain_lines_stay() -> None:
    # A text layer that maps shaped glyphs to presentation forms: "كتاب" in contextual forms.
    assert logical_order("\ufedb\ufe98\ufe8e\ufe8f") == "كتاب"
    assert logical_order("Plain English, ﬁne.") == "Plain English, ﬁne."
    assert logical_order("ابن سينا") == "ابن سينا"
