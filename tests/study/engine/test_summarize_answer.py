from __future__ import annotations

import pytest

from studyhall.study.engine import pos
from studyhall.study.engine.answer import NOT_FOUND, answer_question, filter_citations
from studyhall.study.engine.chunk import Passage, chunk_blocks
from studyhall.study.engine.extract import extract_blocks
from studyhall.study.engine.keyphrases import extract_keyphrases
from studyhall.study.engine.summarize import rank_sentences, summarize

NEWS = """Ad sales boost profit

Profits at the media firm rose by 76% in the quarter thanks to advertising sales.
Advertising sales rose strongly at the firm in every quarter.
The weather in London was mild.
The firm expects advertising sales and profits to keep rising next year.
A spokesman declined to comment.
"""


def _passages(text: str, name: str = "news.txt") -> list[Passage]:
    chunks = chunk_blocks(extract_blocks(text.encode(), name))
    return [chunk.to_passage(f"c{chunk.index}", "m1") for chunk in chunks]


def test_summary_picks_central_sentences_in_original_order() -> None:
    passages = _passages(NEWS)
    summary = summarize(passages, k=3)
    assert [s.text for s in summary.sentences] == [
        "Profits at the media firm rose by 76% in the quarter thanks to advertising sales.",
        "Advertising sales rose strongly at the firm in every quarter.",
        "The firm expects advertising sales and profits to keep rising next year.",
    ]
    for sentence in summary.sentences:
        (citation,) = sentence.citations
        assert passages[0].text[citation.start : citation.end] == sentence.text
        assert (citation.chunk_id, citation.material_id) == ("c0", "m1")
    assert summary.citations == [s.citations[0] for s in summary.sentences]


def test_summary_skips_the_unpunctuated_title_and_caps_at_the_candidates() -> None:
    summary = summarize(_passages(NEWS), k=10)
    # Everything but the title, which has no closing punctuation in a prose material.
    assert [s.text[:20] for s in summary.sentences] == [
        "Profits at the media",
        "Advertising sales ro",
        "The weather in Londo",
        "The firm expects adv",
        "A spokesman declined",
    ]
    assert summarize([], k=3).sentences == []
    with pytest.raises(ValueError):
        summarize(_passages(NEWS), k=0)


def test_overlapping_chunks_do_not_repeat_sentences() -> None:
    text = " ".join(f"Sentence number {i} talks about cells and energy." for i in range(80))
    passages = _passages(text)
    assert len(passages) > 1
    summary = summarize(passages, k=80)
    assert len(summary.sentences) == 80
    assert len({s.text for s in summary.sentences}) == 80


def test_rank_sentences_lead_prior() -> None:
    tokens = [["a", "b"], ["a", "b"], ["a", "b"]]
    flat = rank_sentences(tokens, lead_weight=0.0)
    assert flat == pytest.approx([1 / 3, 1 / 3, 1 / 3])
    lead = rank_sentences(tokens, lead_weight=1.0)
    assert lead[0] > lead[1] > lead[2]
    assert lead.sum() == pytest.approx(1.0)


def test_answer_quotes_the_best_sentences_with_citations() -> None:
    passages = _passages(NEWS)
    answer = answer_question("What happened to profits at the media firm?", passages)
    assert answer.grounded
    assert [q.text for q in answer.quotes] == [
        "Profits at the media firm rose by 76% in the quarter thanks to advertising sales.",
        "The firm expects advertising sales and profits to keep rising next year.",
    ]
    assert answer.text == (
        "“Profits at the media firm rose by 76% in the quarter thanks to advertising sales.” [1] "
        "“The firm expects advertising sales and profits to keep rising next year.” [2]"
    )
    assert [(c.chunk_id, c.start, c.end) for c in answer.citations] == [
        ("c0", 23, 104),
        ("c0", 199, 271),
    ]
    # Without a model, "rise" and "rose" do not match: every sentence sharing the question's
    # words within half the best score is quoted, best first.
    several = answer_question("How much did profits rise in the quarter?", passages)
    assert [q.text[:24] for q in several.quotes] == [
        "The firm expects adverti",
        "Profits at the media fir",
    ]
    assert [q.text[:24] for q in answer_question("profits", passages, max_quotes=1).quotes] == [
        "Profits at the media fir"
    ]


def test_answer_admits_when_the_material_does_not_say() -> None:
    passages = _passages(NEWS)
    for question in ["What is the capital of France?", "", "the of and"]:
        answer = answer_question(question, passages)
        assert (answer.text, answer.quotes, answer.grounded) == (NOT_FOUND, [], False)
    assert answer_question("profits", []).grounded is False


def test_filter_citations_keeps_only_retrieved_ids_in_order() -> None:
    assert filter_citations(["c3", "x9", "c1", "c3", "c2"], {"c1", "c2", "c3"}) == [
        "c3",
        "c1",
        "c2",
    ]
    assert filter_citations(["made-up"], []) == []


def test_keyphrases_fall_back_to_case_rules_without_the_tagger(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert pos.available()
    tagged = extract_keyphrases(NEWS * 2, top=5)
    monkeypatch.setattr(pos, "_model", lambda: None)
    assert not pos.available()
    guessed = extract_keyphrases(NEWS * 2, top=5)
    assert 0 < len(guessed) <= 5
    # Without the tagger a verb can slip into a phrase ("media firm rose"); with it, not.
    assert "media firm rose" in guessed
    assert not any("rose" in phrase for phrase in tagged)
    assert extract_keyphrases("   ") == []


def test_keyphrases_are_whole_names_or_terms() -> None:
    phrases = extract_keyphrases(NEWS * 3, top=10)
    assert phrases
    for phrase in phrases:
        capitals = {word[0].isupper() for word in phrase.split()}
        assert len(capitals) == 1, phrase
