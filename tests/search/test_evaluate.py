"""`evaluate_beir` on a tiny benchmark: our modes and the plain baselines in one run."""

from __future__ import annotations

from pathlib import Path

import pytest

from paperroute.index.baseline import PlainBM25
from paperroute.index.embed import MiniLMOnnx
from paperroute.search.beir import BeirSet
from paperroute.search.evaluate import BASELINES, MODES, evaluate_beir

CORPUS = {
    "d1": ("Diffusion image editing", "Diffusion models edit images from text instructions."),
    "d2": ("Molecular graphs", "Graph neural networks predict molecular properties."),
    "d3": ("Math word problems", "Large language models solve math word problems step by step."),
    "d4": ("Walking robots", "Reinforcement learning trains robots to walk on rough ground."),
}


@pytest.fixture(scope="module")
def embedder() -> MiniLMOnnx:
    return MiniLMOnnx()


def test_every_mode_and_baseline_is_reported(tmp_path: Path, embedder: MiniLMOnnx) -> None:
    beir = BeirSet(
        corpus=CORPUS,
        queries={"q1": "editing images with diffusion", "q2": "molecules and graphs"},
        qrels={"q1": {"d1": 1}, "q2": {"d2": 1}},
    )
    results = evaluate_beir(beir, tmp_path, embedder)
    assert list(results) == [*MODES, *BASELINES]
    for values in results.values():
        assert set(values) == {"ndcg@10", "recall@100", "mrr@10"}
        assert values["recall@100"] == 1.0


def test_a_query_that_is_a_corpus_document_never_finds_itself(
    tmp_path: Path, embedder: MiniLMOnnx
) -> None:
    # Query by example: d2's own text is the query, d1 is judged relevant.
    beir = BeirSet(corpus=CORPUS, queries={"d2": CORPUS["d2"][1]}, qrels={"d2": {"d1": 1, "d2": 1}})
    results = evaluate_beir(beir, tmp_path, embedder)
    # d2 would be found by every method; only d1 can count, so recall is at most a half.
    assert all(values["recall@100"] <= 0.5 for values in results.values()), results
    assert results["semantic"]["recall@100"] == results["plain-semantic"]["recall@100"] == 0.5


def test_plain_bm25_drops_stop_words_and_stems(tmp_path: Path) -> None:
    plain = PlainBM25(tmp_path, [("", "The networks of the graph"), ("", "A walking robot")])
    assert plain.search("the of")[0] == []
    assert plain.search("network")[0] == [0]
    assert plain.search("robots walk")[0] == [1]
