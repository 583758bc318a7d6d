from __future__ import annotations

import pytest

from studyhall.study.engine.sentences import split_sentences


def _split(text: str) -> list[str]:
    return [text[start:end] for start, end in split_sentences(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Dr. Smith went to Washington. He arrived at 3.30 p.m. on Monday. It cost $1.13bn.",
            [
                "Dr. Smith went to Washington.",
                "He arrived at 3.30 p.m. on Monday.",
                "It cost $1.13bn.",
            ],
        ),
        (
            '"I think he is right," said Robert. "He is taking a view."\n"Next one."',
            ['"I think he is right," said Robert.', '"He is taking a view."', '"Next one."'],
        ),
        (
            '"Really?" he asked. Yes! It was J. K. Rowling. The U.S. economy grew.',
            ['"Really?" he asked.', "Yes!", "It was J. K. Rowling.", "The U.S. economy grew."],
        ),
        (
            "The firm moved to the U.S. It was big. Apple Inc. The deal closed. See e.g. Paris.",
            [
                "The firm moved to the U.S.",
                "It was big.",
                "Apple Inc.",
                "The deal closed.",
                "See e.g. Paris.",
            ],
        ),
        (
            "As shown in Fig. 3 the value is approx. three. Wait... Done.",
            ["As shown in Fig. 3 the value is approx. three.", "Wait...", "Done."],
        ),
        (
            "Photosynthesis\nLight reactions\n- make ATP\n- split water\n1) first\n2) second",
            [
                "Photosynthesis",
                "Light reactions",
                "- make ATP",
                "- split water",
                "1) first",
                "2) second",
            ],
        ),
        (
            "A wrapped PDF line that is long enough to be a sentence body and\n"
            "continues here. Next.",
            [
                "A wrapped PDF line that is long enough to be a sentence body and\ncontinues here.",
                "Next.",
            ],
        ),
        (
            "First paragraph without a stop\n\nsecond one",
            ["First paragraph without a stop", "second one"],
        ),
        ("  \n\n  ", []),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert _split(text) == expected


def test_spans_respect_start_and_end() -> None:
    text = "Heading\n\nOne here. Two here. Three."
    assert split_sentences(text, 9, 28) == [(9, 18), (19, 28)]
