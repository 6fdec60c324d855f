"""The authorship simulation and its metrics."""

from __future__ import annotations

import numpy as np
import pytest

from paperroute.rank.evaluate import Simulation, _metrics, evaluate_recommenders
from tests.rank.synthetic import CUTOFF, synthetic_corpus


def test_readers_are_authors_with_three_papers_before_and_one_after() -> None:
    sim = Simulation.make(synthetic_corpus(), CUTOFF)
    assert len(sim.readers) == 36  # 12 topics x 3 authors; coauthors write once
    assert len(sim.candidates) == 36 and len(sim.earlier) == 144
    reader = sim.readers[0]
    assert len(reader.saved) == 4 and len(reader.relevant) == 1
    assert all(sim.papers[r].announced < CUTOFF for r in reader.saved)  # type: ignore[operator]
    later = sim.papers[sim.candidates[reader.relevant[0]]]
    assert reader.name in later.authors and later.announced >= CUTOFF  # type: ignore[operator]


def test_metrics_of_known_ranks() -> None:
    tie = np.arange(5)
    scores = np.array([5.0, 4.0, 3.0, 2.0, 1.0])
    assert _metrics(scores, np.array([0]), tie) == (1.0, 1.0, 1.0)
    recall, ndcg, mrr = _metrics(scores, np.array([1, 3]), tie)  # ranks 2 and 4
    assert recall == 1.0 and mrr == 0.5
    ideal = 1 + 1 / np.log2(3)
    assert ndcg == pytest.approx((1 / np.log2(3) + 1 / np.log2(5)) / ideal)
    flat = np.zeros(5)  # ties: the tie order decides
    assert _metrics(flat, np.array([4]), np.array([4, 3, 2, 1, 0]))[2] == 1.0


def test_every_method_runs_and_ours_finds_the_readers_topics() -> None:
    sim = Simulation.make(synthetic_corpus(), CUTOFF)
    results = evaluate_recommenders(sim, sim.readers)
    assert set(results) == {"newest", "trending", "arxiv-sanity", "ours", "ours-text"}
    assert results["ours"].recall == 1.0 and results["ours-text"].recall > 0.9
    assert results["newest"].recall < 0.8 > results["trending"].recall
    assert len(results["arxiv-sanity"].train_ms) == len(sim.readers)
