from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from studyhall.study.engine.chunk import Chunk, Passage, chunk_blocks, count_tokens
from studyhall.study.engine.extract import Block


def _sentence(i: int, words: int = 19) -> str:
    # ``words`` word tokens plus the full stop: words + 1 tokens.
    return "S" + str(i) + " " + " ".join(["word"] * (words - 1)) + "."


def test_count_tokens_counts_words_and_punctuation() -> None:
    # It ' s 3 . 5 km , isn ' t it ?
    assert count_tokens("It's 3.5 km, isn't it?") == 13
    assert count_tokens("") == 0


def test_long_block_is_packed_evenly_with_whole_sentence_overlap() -> None:
    sentences = [_sentence(i) for i in range(40)]  # 40 x 20 = 800 tokens
    text = " ".join(sentences)
    chunks = chunk_blocks([Block(text=text, page=7)])
    spans = [(c.start, c.end) for c in chunks]
    starts = [m.start() for m in re.finditer(r"S\d+ ", text)]
    # An even split of 800 tokens with 50 tokens of overlap is 3 chunks of ~300; each next
    # chunk repeats the last two sentences (40 tokens) of the previous one.
    assert spans == [
        (starts[0], starts[15] - 1),
        (starts[13], starts[28] - 1),
        (starts[26], len(text)),
    ]
    assert [c.tokens for c in chunks] == [300, 300, 280]
    assert [c.index for c in chunks] == [0, 1, 2]
    assert {(c.page, c.slide, c.heading, c.block_index) for c in chunks} == {(7, None, None, 0)}
    assert all(c.text == text[c.start : c.end] == c.body for c in chunks)


def test_heading_is_prefixed_and_counted() -> None:
    block = Block(text="Cells divide. They grow.", slide=3, heading="Cell  biology")
    assert chunk_blocks([block]) == [
        Chunk(
            index=0,
            block_index=0,
            text="Cell biology\n\nCells divide. They grow.",
            body_offset=14,
            start=0,
            end=24,
            tokens=8,
            page=None,
            slide=3,
            heading="Cell  biology",
        )
    ]


def test_chunks_never_cross_blocks_and_keep_each_citation() -> None:
    blocks = [
        Block(text="Page one text.", page=1),
        Block(text="   "),
        Block(text="Page two text.", page=2, heading="Intro"),
    ]
    chunks = chunk_blocks(blocks)
    assert [(c.index, c.block_index, c.page, c.body) for c in chunks] == [
        (0, 0, 1, "Page one text."),
        (1, 2, 2, "Page two text."),
    ]
    assert chunks[1].to_passage("c-2", "m-1") == Passage(
        id="c-2",
        text="Intro\n\nPage two text.",
        body_offset=7,
        heading="Intro",
        material_id="m-1",
        page=2,
    )


def test_oversized_sentence_is_cut_at_word_boundaries() -> None:
    text = " ".join(f"w{i}" for i in range(1000))  # one 1000-token "sentence"
    chunks = chunk_blocks([Block(text=text)], target_tokens=350, max_tokens=400)
    assert [c.tokens for c in chunks] == [400, 400, 200]
    assert " ".join(c.body for c in chunks) == text


def test_realistic_prose_chunks_are_300_to_400_tokens(eval_dir: object) -> None:
    from pathlib import Path

    root = Path(str(eval_dir)) / "bbc-summaries" / "article"
    text = "\n\n".join(p.read_text("utf-8") for p in sorted(root.glob("business/*.txt")))
    chunks = chunk_blocks([Block(text=text)])
    sizes = [c.tokens for c in chunks]
    assert len(chunks) == 25
    assert min(sizes) >= 300
    assert max(sizes) <= 400


def test_invalid_parameters() -> None:
    with pytest.raises(ValueError):
        chunk_blocks([], target_tokens=500, max_tokens=400)
    with pytest.raises(ValueError):
        chunk_blocks([], target_tokens=100, overlap_tokens=100)


_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=12)
_SENTENCE = st.builds(
    lambda words, end: " ".join(words).capitalize() + end,
    st.lists(_WORD, min_size=1, max_size=60),
    st.sampled_from([".", "!", "?", "", ","]),
)
_TEXT = st.builds(
    lambda parts, seps: "".join(p + s for p, s in zip(parts, seps, strict=False)),
    st.lists(_SENTENCE, min_size=1, max_size=40),
    st.lists(st.sampled_from([" ", "  ", "\n", "\n\n", " \n "]), min_size=40, max_size=40),
)
_BLOCK = st.builds(
    Block,
    text=_TEXT,
    page=st.one_of(st.none(), st.integers(1, 500)),
    heading=st.one_of(st.none(), st.text(alphabet="ab cd", min_size=1, max_size=40)),
)


@settings(max_examples=100, deadline=None)
@given(
    blocks=st.lists(_BLOCK, min_size=1, max_size=4),
    target=st.integers(10, 400),
    extra=st.integers(0, 100),
    overlap_share=st.floats(0, 0.9),
)
def test_chunk_properties(
    blocks: list[Block], target: int, extra: int, overlap_share: float
) -> None:
    max_tokens = target + extra
    overlap = int(target * overlap_share)
    chunks = chunk_blocks(
        blocks, target_tokens=target, max_tokens=max_tokens, overlap_tokens=overlap
    )
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert [c.block_index for c in chunks] == sorted(c.block_index for c in chunks)
    for chunk in chunks:
        block = blocks[chunk.block_index]
        assert chunk.body == block.text[chunk.start : chunk.end]
        assert chunk.body == chunk.body.strip() != ""
        assert (chunk.page, chunk.slide, chunk.heading) == (block.page, block.slide, block.heading)
        assert chunk.tokens == count_tokens(chunk.text) <= max_tokens
    for block_index, block in enumerate(blocks):
        mine = [c for c in chunks if c.block_index == block_index]
        covered = [False] * len(block.text)
        for chunk in mine:
            covered[chunk.start : chunk.end] = [True] * (chunk.end - chunk.start)
        # Every visible character of the block is in some chunk.
        assert all(covered[i] for i, ch in enumerate(block.text) if not ch.isspace())
        for previous, following in itertools.pairwise(mine):
            assert following.start > previous.start
            assert following.end > previous.end
            if following.start < previous.end:
                shared = block.text[following.start : previous.end]
                assert count_tokens(shared) <= overlap
            else:
                assert block.text[previous.end : following.start].strip() == ""
