"""Markdown from people and models becomes safe HTML: no script, no raw HTML, no dangerous
link, no image fetched from elsewhere; ordinary formatting survives."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from studyhall.web.richtext import markdown, markdown_inline, safe_link

HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](java\tscript:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[click](<javascript:alert(1)>)",
    "<javascript:alert(1)>",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click](vbscript:msgbox(1))",
    "[click](//evil.example/phish)",
    '<iframe src="https://evil.example"></iframe>',
    "![pixel](https://tracker.example/p.gif)",
    '[x](https://ok.example "a" onmouseover="alert(1)")',
]


class Elements(HTMLParser):
    """Every element and attribute the browser would build from the HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, attrs))


def elements(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    parser = Elements()
    parser.feed(html)
    return parser.found


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_markdown_is_neutralised(text: str) -> None:
    for tag, attrs in elements(str(markdown(text))):
        assert tag in {"p", "a", "em", "strong", "code"}, tag
        for name, value in attrs:
            assert name in {"href", "rel", "title"}, name
            if name == "href":
                assert value is not None and value.startswith(("https://", "/")), value
                assert not value.startswith("//"), value


def test_raw_html_is_shown_as_typed() -> None:
    assert str(markdown("<b>bold</b> <script>x()</script>")) == (
        "<p>&lt;b&gt;bold&lt;/b&gt; &lt;script&gt;x()&lt;/script&gt;</p>\n"
    )


def test_ordinary_markdown_survives_and_safe_links_open_safely() -> None:
    html = str(
        markdown(
            "# Photosynthesis\n\n*Light* makes **sugar** [1].\n\n- one\n- two\n\n"
            "| a | b |\n|---|---|\n| 1 | 2 |\n\n`code` [docs](https://ok.example/x) "
            "[page](/study) [mail](mailto:a@example.com)"
        )
    )
    for piece in (
        "<h2>Photosynthesis</h2>",  # the page owns its h1
        "<em>Light</em> makes <strong>sugar</strong> [1].",
        "<li>one</li>",
        "<td>1</td>",
        "<code>code</code>",
        '<a href="https://ok.example/x" rel="nofollow noopener noreferrer">docs</a>',
        '<a href="/study" rel="nofollow noopener noreferrer">page</a>',
        '<a href="mailto:a@example.com" rel="nofollow noopener noreferrer">mail</a>',
    ):
        assert piece in html, piece


def test_a_text_that_opens_with_the_page_title_does_not_repeat_it() -> None:
    assert str(markdown("# Velocity\n\nFast.\n\n# Velocity", "velocity ")) == (
        "<p>Fast.</p>\n<h2>Velocity</h2>\n"
    )
    assert str(markdown("# Speed\n\nFast.", "Velocity")) == "<h2>Speed</h2>\n<p>Fast.</p>\n"


def test_a_sentence_stays_inline() -> None:
    assert str(markdown_inline("Plants make *sugar* <b>x</b>")) == (
        "Plants make <em>sugar</em> &lt;b&gt;x&lt;/b&gt;"
    )


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("https://a.example", True),
        ("http://a.example", True),
        ("mailto:a@b.example", True),
        ("/study/materials/1", True),
        ("#page=2", True),
        ("notes/page", True),
        ("javascript:alert(1)", False),
        (" javascript:alert(1)", False),
        ("jav\nascript:alert(1)", False),
        ("data:text/html,x", False),
        ("file:///etc/passwd", False),
        ("//evil.example", False),
        ("weird:thing", False),
    ],
)
def test_which_links_are_kept(url: str, safe: bool) -> None:
    assert safe_link(url) is safe


def test_citation_markers_link_to_their_sources_and_others_stay_text() -> None:
    html = str(
        markdown(
            "Sugar [1], light [2][3], not [4], not `[1]`.",
            sources={1: "/study/materials/m/file#page=1", 2: "/a", 3: "/b"},
        )
    )
    assert '<a href="/study/materials/m/file#page=1" class="marker"' in html
    assert html.count('class="marker"') == 3
    assert "not [4]" in html
    assert "<code>[1]</code>" in html
