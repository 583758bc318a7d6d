from __future__ import annotations

import math

import pytest

from studyhall.study.engine.lexical import BM25Index, analyze, normalize, rrf, words


def test_analyze_folds_stems_and_drops_stopwords() -> None:
    assert analyze("What did the Normans' conquests of England bring in 1066?") == [
        "norman",
        "conquest",
        "england",
        "bring",
        "1066",
    ]
    assert analyze("CAFÉ cafés Café") == ["cafe", "cafe", "cafe"]
    assert words("Don't stop: it's Mary\u2019s X-ray") == ["dont", "stop", "it", "mary", "x", "ray"]
    assert normalize("Ærøskøbing") == "ærøskøbing"


def _idf(n_docs: int, df: int) -> float:
    return math.log(1 + (n_docs - df + 0.5) / (df + 0.5))


def test_bm25_scores_match_the_formula() -> None:
    index = BM25Index([["a", "b"], ["a", "c", "c"], ["d"]], k1=1.2, b=0.75)
    avgdl = 2.0
    norm_1 = 1.2 * (1 - 0.75 + 0.75 * 3 / avgdl)
    norm_0 = 1.2 * (1 - 0.75 + 0.75 * 2 / avgdl)
    expected_c = _idf(3, 1) * 2 * 2.2 / (2 + norm_1)
    expected_a1 = _idf(3, 2) * 1 * 2.2 / (1 + norm_1)
    expected_a0 = _idf(3, 2) * 1 * 2.2 / (1 + norm_0)
    scores = index.scores(["c", "a", "c", "zzz"])
    assert scores.keys() == {0, 1}
    assert scores[1] == pytest.approx(expected_c + expected_a1)
    assert scores[0] == pytest.approx(expected_a0)
    assert index.search(["c", "a"], k=5) == [(1, scores[1]), (0, scores[0])]
    assert index.search(["zzz"]) == []


def test_bm25_ties_go_to_the_earlier_document_and_text_queries_are_analyzed() -> None:
    index = BM25Index.from_texts(["Cells divide.", "Cells grow.", "Plants photosynthesize."])
    assert [doc for doc, _ in index.search("cell")] == [0, 1]
    assert [doc for doc, _ in index.search("How do animals breathe?")] == []
    assert [doc for doc, _ in index.search("photosynthesizing plants")] == [2]


def test_bm25_rejects_bad_parameters() -> None:
    with pytest.raises(ValueError):
        BM25Index([], b=1.5)


def test_rrf_sums_reciprocal_ranks() -> None:
    fused = rrf([["a", "b", "c"], ["b", "a", "d"]], k=60)
    assert fused == [
        ("a", 1 / 61 + 1 / 62),
        ("b", 1 / 62 + 1 / 61),
        ("c", 1 / 63),
        ("d", 1 / 63),
    ]
    assert rrf([["x", "x", "y"]], k=0) == [("x", 1.0), ("y", 0.5)]
