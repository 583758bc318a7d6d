"""Markdown for the text people and models write (lesson bodies, chat answers, summaries), made
safe to put in a page.

CommonMark with tables and strikethrough; raw HTML is not HTML (it is shown as typed), images
are not drawn (their address becomes a link: an image would load from anywhere), and a link
keeps its address only for http, https, mailto and this site's own paths, so ``javascript:``
and ``data:`` links become plain text. Every link opens with ``rel="nofollow noopener noreferrer"``.
The page owns its ``h1``: headings in the text start at ``h2``, and a text that opens by
repeating the page's title (a lesson's ``# Title``) does not show it twice. An answer's
citation markers (``[1]``) become links to the page they cite.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from markupsafe import Markup

SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
MARKER = re.compile(r"\[(\d{1,3})\]")


def safe_link(url: str) -> bool:
    """An absolute address with a safe scheme, or a path/anchor on this site."""
    # Browsers ignore tabs, newlines and leading spaces inside a scheme ("java\tscript:").
    cleaned = "".join(ch for ch in url if ch > " " and ch != "\x7f")
    if cleaned.startswith("//"):
        return False
    scheme = urlsplit(cleaned).scheme.lower()
    if scheme:
        return scheme in SAFE_SCHEMES
    return ":" not in cleaned.split("/", 1)[0]


def _link_open(
    renderer: RendererHTML,
    tokens: Sequence[Token],
    idx: int,
    options: OptionsDict,
    env: EnvType,
) -> str:
    tokens[idx].attrSet("rel", "nofollow noopener noreferrer")
    return renderer.renderToken(tokens, idx, options, env)


def _heading_below_page_title(tokens: list[Token]) -> None:
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(int(token.tag[1]) + 1, 6)}"


def _without_leading_title(tokens: list[Token], title: str | None) -> list[Token]:
    opens_with_title = (
        title is not None
        and len(tokens) >= 3
        and tokens[0].type == "heading_open"
        and tokens[1].content.strip().casefold() == title.strip().casefold()
    )
    return tokens[3:] if opens_with_title else tokens


def _marker_links(tokens: list[Token], sources: Mapping[int, str]) -> None:
    """Each ``[n]`` in the text whose source is known becomes a link to it (an unknown number,
    or one inside code, stays text)."""
    for block in tokens:
        if block.type != "inline" or not block.children:
            continue
        children: list[Token] = []
        for token in block.children:
            if token.type != "text" or not MARKER.search(token.content):
                children.append(token)
                continue
            children.extend(_split_markers(token.content, sources))
        block.children = children


def _split_markers(text: str, sources: Mapping[int, str]) -> list[Token]:
    pieces: list[Token] = []
    at = 0
    for match in MARKER.finditer(text):
        href = sources.get(int(match.group(1)))
        if href is None:
            continue
        if match.start() > at:
            pieces.append(Token("text", "", 0, content=text[at : match.start()]))
        pieces.append(Token("link_open", "a", 1, attrs={"href": href, "class": "marker"}))
        pieces.append(Token("text", "", 0, content=match.group(0)))
        pieces.append(Token("link_close", "a", -1))
        at = match.end()
    if at < len(text):
        pieces.append(Token("text", "", 0, content=text[at:]))
    return pieces


@lru_cache
def _parser() -> MarkdownIt:
    parser = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    parser.enable(["table", "strikethrough"])
    parser.disable("image")
    parser.validateLink = safe_link  # type: ignore[method-assign]
    parser.add_render_rule("link_open", _link_open)
    return parser


def markdown(
    text: Any, title: str | None = None, sources: Mapping[int, str] | None = None
) -> Markup:
    """Blocks (paragraphs, lists, headings, code, tables) for a whole text; ``title`` is the
    page's own heading, left out when the text opens with it; ``sources`` maps a citation
    marker's number to the address it links to (addresses this site made)."""
    parser = _parser()
    env: EnvType = {}
    tokens = _without_leading_title(parser.parse(str(text or ""), env), title)
    _heading_below_page_title(tokens)
    if sources:
        _marker_links(tokens, sources)
    return Markup(parser.renderer.render(tokens, parser.options, env))


def markdown_inline(text: Any) -> Markup:
    """Emphasis, code and links inside one line (a summary's sentence), no block elements."""
    return Markup(_parser().renderInline(str(text or "")))
