"""nDCG@k, Recall@k and MRR@k as trec_eval computes them, by hand and against a reference."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence

import pytest

from paperroute.search.metrics import (
    METRICS,
    evaluate,
    mrr_at_k,
    ndcg_at_k,
    rank_by_score,
    recall_at_k,
)

LOG2_3 = math.log2(3)  # the discount of rank 2
LOG2_5 = math.log2(5)  # the discount of rank 4


# --- nDCG --------------------------------------------------------------------


def test_ndcg_graded_gain_is_the_grade_itself() -> None:
    # Gains 0, 1, 0, 2 at ranks 1-4; the ideal is 2, 1. With gain 2**g - 1 the
    # answer would be (1/log2(3) + 3/log2(5)) / (3 + 1/log2(3)) = 0.5975 instead.
    qrels = {"a": 2, "b": 1, "c": 0}
    value = ndcg_at_k(["c", "b", "x", "a"], qrels, 10)
    assert value == pytest.approx((1 / LOG2_3 + 2 / LOG2_5) / (2 + 1 / LOG2_3))
    assert value == pytest.approx(0.567207, abs=1e-6)


def test_ndcg_perfect_order_is_one_and_reversed_is_less() -> None:
    qrels = {"a": 3, "b": 2, "c": 1}
    assert ndcg_at_k(["a", "b", "c"], qrels, 10) == pytest.approx(1.0)
    assert ndcg_at_k(["c", "b", "a"], qrels, 10) == pytest.approx(
        (1 + 2 / LOG2_3 + 3 / 2) / (3 + 2 / LOG2_3 + 1 / 2)
    )


def test_ndcg_cutoff_drops_later_ranks_and_cuts_the_ideal_too() -> None:
    qrels = {"a": 2, "b": 1}
    # Only "x", "b" are in the top 2; the ideal top 2 is still 2, 1.
    assert ndcg_at_k(["x", "b", "a"], qrels, 2) == pytest.approx((1 / LOG2_3) / (2 + 1 / LOG2_3))
    assert ndcg_at_k(["x", "y", "a"], qrels, 2) == 0.0
    # Twelve relevant documents, ten found in the top 10: perfect at 10.
    many = {f"d{i}": 1 for i in range(12)}
    assert ndcg_at_k([f"d{i}" for i in range(10)], many, 10) == pytest.approx(1.0)


def test_ndcg_ideal_counts_relevant_documents_the_run_never_saw() -> None:
    # "z" may not even be in the corpus: it is judged relevant, so it counts.
    qrels = {"a": 1, "b": 1, "z": 1}
    assert ndcg_at_k(["a"], qrels, 10) == pytest.approx(1 / (1 + 1 / LOG2_3 + 1 / 2))


def test_ndcg_without_relevant_documents_is_zero() -> None:
    assert ndcg_at_k(["a", "b"], {}, 10) == 0.0
    assert ndcg_at_k(["a", "b"], {"a": 0, "b": -1}, 10) == 0.0


def test_negative_grades_are_not_relevant_and_cost_nothing() -> None:
    qrels = {"a": -1, "b": 1}
    assert ndcg_at_k(["a", "b"], qrels, 10) == pytest.approx(1 / LOG2_3)
    assert recall_at_k(["a", "b"], qrels, 10) == 1.0
    assert mrr_at_k(["a", "b"], qrels, 10) == 0.5


def test_a_repeated_document_counts_once_at_its_first_rank() -> None:
    qrels = {"a": 1, "b": 1}
    assert ndcg_at_k(["a", "a", "a"], qrels, 10) == pytest.approx(1 / (1 + 1 / LOG2_3))
    # The repeat does not take a rank: "b" is second.
    assert ndcg_at_k(["a", "a", "b"], qrels, 10) == pytest.approx(1.0)
    assert mrr_at_k(["x", "x", "a"], qrels, 10) == 0.5
    assert recall_at_k(["a", "a"], {"a": 1, "b": 1}, 10) == 0.5


def test_an_empty_ranking_scores_zero() -> None:
    qrels = {"a": 1}
    assert ndcg_at_k([], qrels, 10) == 0.0
    assert recall_at_k([], qrels, 100) == 0.0
    assert mrr_at_k([], qrels, 10) == 0.0


@pytest.mark.parametrize("measure", [ndcg_at_k, recall_at_k, mrr_at_k])
def test_k_must_be_positive(
    measure: Callable[[Sequence[str], Mapping[str, int], int], float],
) -> None:
    with pytest.raises(ValueError, match="k must be at least 1"):
        measure(["a"], {"a": 1}, 0)


# --- Recall and MRR ----------------------------------------------------------


def test_recall_is_relevant_found_over_all_relevant() -> None:
    qrels = {"a": 2, "b": 1, "c": 1, "n": 0}
    assert recall_at_k(["a", "n", "x", "c"], qrels, 100) == pytest.approx(2 / 3)
    assert recall_at_k(["a", "n", "x", "c"], qrels, 3) == pytest.approx(1 / 3)
    assert recall_at_k(["x", "y"], qrels, 100) == 0.0
    assert recall_at_k(["a"], {}, 100) == 0.0


def test_recall_cutoff_at_one_hundred() -> None:
    ranked = [f"x{i}" for i in range(99)] + ["a", "b"]
    assert recall_at_k(ranked, {"a": 1, "b": 1}, 100) == 0.5


def test_mrr_is_reciprocal_rank_of_the_first_relevant_within_k() -> None:
    qrels = {"a": 1, "b": 2}
    assert mrr_at_k(["a", "b"], qrels, 10) == 1.0
    assert mrr_at_k(["x", "y", "b", "a"], qrels, 10) == pytest.approx(1 / 3)
    nine = [f"x{i}" for i in range(9)]
    assert mrr_at_k([*nine, "a"], qrels, 10) == pytest.approx(0.1)
    assert mrr_at_k([*nine, "y", "a"], qrels, 10) == 0.0
    # Judged but grade 0 is not relevant.
    assert mrr_at_k(["n", "a"], {"n": 0, "a": 1}, 10) == 0.5


# --- ties ----------------------------------------------------------------------


def test_rank_by_score_breaks_ties_by_descending_id_as_trec_eval_does() -> None:
    scores = {"d1": 1.0, "d2": 1.0, "d3": 2.0, "d10": 1.0, "d9": 0.5}
    # strcmp order, reversed: "d2" > "d10" > "d1".
    assert rank_by_score(scores) == ["d3", "d2", "d10", "d1", "d9"]
    assert rank_by_score({}) == []


def test_a_tie_at_the_cutoff_is_decided_by_the_tie_rule() -> None:
    qrels = {"a": 1}
    ranked = rank_by_score({"a": 1.0, "b": 1.0})
    assert ranked == ["b", "a"]
    assert mrr_at_k(ranked, qrels, 1) == 0.0
    assert mrr_at_k(ranked, qrels, 2) == 0.5


# --- evaluate ------------------------------------------------------------------


def test_evaluate_averages_over_queries_with_a_relevant_document() -> None:
    qrels = {
        "q1": {"d1": 1},
        "q2": {"d2": 2, "d3": 1},
        "q3": {"d4": 0},  # nothing relevant: skipped
    }
    run = {"q1": ["d1"], "q2": ["x", "d3"], "q3": ["d4"]}
    result = evaluate(run, qrels)
    assert list(result) == list(METRICS)
    assert result["mrr@10"] == pytest.approx((1 + 1 / 2) / 2)
    assert result["recall@100"] == pytest.approx((1 + 1 / 2) / 2)
    assert result["ndcg@10"] == pytest.approx((1 + (1 / LOG2_3) / (2 + 1 / LOG2_3)) / 2)


def test_evaluate_scores_a_judged_query_missing_from_the_run_as_zero() -> None:
    qrels = {"q1": {"d1": 1}, "q2": {"d2": 1}}
    result = evaluate({"q1": ["d1"]}, qrels)
    assert result == {"ndcg@10": 0.5, "recall@100": 0.5, "mrr@10": 0.5}


def test_evaluate_ignores_queries_that_were_run_but_not_judged() -> None:
    assert evaluate({"q1": ["d1"], "extra": ["x"]}, {"q1": {"d1": 1}})["mrr@10"] == 1.0


def test_evaluate_removes_the_query_itself_from_its_results() -> None:
    # ArguAna-style: the query is also a corpus document, ranked first.
    qrels = {"q1": {"d1": 1}}
    assert evaluate({"q1": ["q1", "d1"]}, qrels)["mrr@10"] == 1.0
    assert evaluate({"q1": ["d1", "q1"]}, qrels)["ndcg@10"] == 1.0


def test_evaluate_with_nothing_judged_is_all_zero() -> None:
    assert evaluate({"q": ["a"]}, {}) == dict.fromkeys(METRICS, 0.0)
    assert evaluate({}, {"q": {"a": 0}}) == dict.fromkeys(METRICS, 0.0)


# --- against a reference written from the definitions --------------------------


def reference(ranked: list[str], qrels: dict[str, int], k: int) -> tuple[float, float, float]:
    """nDCG@k, Recall@k, MRR@k written out the long way, independently of the module."""
    unique: list[str] = []
    for doc in ranked:
        if doc not in unique:
            unique.append(doc)
    top = unique[:k]
    gains = [qrels[doc] if doc in qrels and qrels[doc] > 0 else 0 for doc in top]
    dcg = 0.0
    for position in range(len(gains)):
        dcg += gains[position] / (math.log(position + 2) / math.log(2))
    ideal_gains = sorted([g for g in qrels.values() if g > 0], reverse=True)
    idcg = 0.0
    for position in range(min(k, len(ideal_gains))):
        idcg += ideal_gains[position] / (math.log(position + 2) / math.log(2))
    ndcg = dcg / idcg if idcg else 0.0
    total = len([g for g in qrels.values() if g > 0])
    recall = len([g for g in gains if g > 0]) / total if total else 0.0
    mrr = 0.0
    for position, gain in enumerate(gains):
        if gain > 0:
            mrr = 1.0 / (position + 1)
            break
    return ndcg, recall, mrr


@pytest.mark.parametrize("seed", range(20))
def test_matches_the_reference_on_random_runs(seed: int) -> None:
    rng = random.Random(seed)
    pool = [f"d{i}" for i in range(60)]
    for _ in range(25):
        judged = rng.sample(pool, rng.randint(0, 25))
        qrels = {doc: rng.choice([-1, 0, 0, 1, 1, 2, 3]) for doc in judged}
        # Runs with repeats and unjudged documents, shorter and longer than k.
        ranked = [rng.choice(pool) for _ in range(rng.randint(0, 40))]
        k = rng.choice([1, 3, 10, 20, 100])
        ndcg, recall, mrr = reference(ranked, qrels, k)
        assert ndcg_at_k(ranked, qrels, k) == pytest.approx(ndcg, abs=1e-12)
        assert recall_at_k(ranked, qrels, k) == pytest.approx(recall, abs=1e-12)
        assert mrr_at_k(ranked, qrels, k) == pytest.approx(mrr, abs=1e-12)
        assert 0.0 <= ndcg <= 1.0 + 1e-12


def test_evaluate_matches_the_reference_means() -> None:
    rng = random.Random(7)
    pool = [f"d{i}" for i in range(40)]
    qrels = {
        f"q{n}": {doc: rng.choice([0, 1, 2]) for doc in rng.sample(pool, rng.randint(1, 8))}
        for n in range(30)
    }
    run = {q: rng.sample(pool, rng.randint(0, 40)) for q in qrels if rng.random() < 0.9}
    judged = [q for q, j in qrels.items() if any(g > 0 for g in j.values())]
    expected = {
        "ndcg@10": sum(reference(run.get(q, []), qrels[q], 10)[0] for q in judged) / len(judged),
        "recall@100": sum(reference(run.get(q, []), qrels[q], 100)[1] for q in judged)
        / len(judged),
        "mrr@10": sum(reference(run.get(q, []), qrels[q], 10)[2] for q in judged) / len(judged),
    }
    assert evaluate(run, qrels) == pytest.approx(expected)
