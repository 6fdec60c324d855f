"""eval recommend's metrics, intervals, and that no method gains from names."""

from __future__ import annotations

import numpy as np
import pytest

from paperroute.rank.evaluate import (
    METHODS,
    evaluate_recommenders,
    ours_minus,
    reader_metrics,
    sample_readers,
)
from paperroute.rank.protocol import Protocol, Simulation
from tests.rank.synthetic import CATEGORY, CUTOFF, team_corpus


def _simulation(protocol: Protocol = Protocol.collaborators) -> Simulation:
    """The synthetic corpus with made-up embeddings: a direction per topic, plus noise."""
    sim = Simulation.make(team_corpus(), CUTOFF, protocol)
    rng = np.random.default_rng(0)
    topics = {c: rng.standard_normal(16) for c in CATEGORY.values()}
    vectors = np.array(
        [topics[p.categories[0]] + 0.5 * rng.standard_normal(16) for p in sim.papers]
    )
    sim.vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    return sim


def test_metrics_of_known_ranks() -> None:
    tie, none = np.arange(5), np.zeros(0, np.int64)
    scores = np.array([5.0, 4.0, 3.0, 2.0, 1.0])
    assert reader_metrics(scores, np.array([0]), none, tie) == (1.0, 1.0, 1.0)
    recall, ndcg, mrr = reader_metrics(scores, np.array([1, 3]), none, tie)  # ranks 2 and 4
    assert recall == 1.0 and mrr == 0.5
    assert ndcg == pytest.approx((1 / np.log2(3) + 1 / np.log2(5)) / (1 + 1 / np.log2(3)))
    # An excluded paper is not ranked: the target moves from rank 2 to rank 1.
    assert reader_metrics(scores, np.array([1]), np.array([0]), tie)[2] == 1.0
    flat = np.zeros(5)  # ties: the tie order decides
    assert reader_metrics(flat, np.array([4]), none, np.array([4, 3, 2, 1, 0]))[2] == 1.0


def test_a_method_scoring_by_name_gets_no_more_than_chance() -> None:
    sim = _simulation()
    results = evaluate_recommenders(sim, sim.readers, ["by-name", "newest", "ours"])
    constant = evaluate_recommenders(sim, sim.readers, ["by-name"],
                                     prepare={"by-name": lambda s, _: lambda r: np.zeros(len(s.window))})  # fmt: skip
    # Names are hidden: scoring by them is scoring everything alike, i.e. the seeded tie order.
    assert np.array_equal(results["by-name"].per_reader, constant["by-name"].per_reader)
    assert results["ours"].recall > results["by-name"].recall
    # Shown the names (authorship), the same scorer finds every reader's own paper: a leak.
    shown = _simulation(Protocol.authorship)
    assert evaluate_recommenders(shown, shown.readers, ["by-name"])["by-name"].recall == 1.0


def test_every_method_runs_on_the_same_readers_with_intervals() -> None:
    sim = _simulation()
    results = evaluate_recommenders(sim, sim.readers)
    assert list(results) == list(METHODS)
    assert all(len(r.per_reader) == len(sim.readers) == len(r.ms) for r in results.values())
    assert results["ours"].recall == 1.0 and results["tfidf-centroid"].recall == 1.0
    gaps = ours_minus(results)
    assert set(gaps) == set(METHODS) - {"ours"}
    low, mean, high = gaps["newest"]["recall@20"]
    assert low <= mean <= high and mean == pytest.approx(1.0 - results["newest"].recall)
    assert gaps["tfidf-centroid"]["ndcg@20"][0] <= gaps["tfidf-centroid"]["ndcg@20"][2]


def test_samples_are_seeded_and_nested() -> None:
    readers = Simulation.make(team_corpus(), CUTOFF).readers
    small, large = sample_readers(readers, 5, seed=1), sample_readers(readers, 10, seed=1)
    assert small == sample_readers(readers, 5, seed=1) and all(r in large for r in small)
    assert sample_readers(readers, 0) == readers
