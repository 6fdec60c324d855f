"""Retrieval quality measures, computed as trec_eval (and so pytrec_eval and BEIR) does.

Definitions, for one query with graded judgments `qrels` (doc id -> grade):

- A document is relevant when its grade is > 0. Grades <= 0 and unjudged
  documents count as not relevant (trec_eval's default relevance level 1).
- nDCG@k: gain is the grade itself, not 2**grade - 1, as in trec_eval's
  `ndcg_cut` (which BEIR reports); the document at rank r is discounted by
  log2(r + 1). The ideal DCG ranks *every* judged relevant document by grade,
  including ones the corpus or the run lacks, so a system is never rewarded
  for a document it could not find.
- Recall@k: relevant documents in the top k / all relevant documents judged.
- MRR@k: 1 / rank of the first relevant document within the top k, else 0.

A ranked list is taken in the order given: a document listed twice counts
once, at its first rank. To rank by score exactly as trec_eval does (ties
broken by *descending* document id), use `rank_by_score` first.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping, Sequence
from statistics import fmean

__all__ = [
    "METRICS",
    "evaluate",
    "mrr_at_k",
    "ndcg_at_k",
    "paired_bootstrap",
    "per_query",
    "rank_by_score",
    "recall_at_k",
]

# The keys `evaluate` returns, in the order a report shows them.
METRICS = ("ndcg@10", "recall@100", "mrr@10")


def rank_by_score(scores: Mapping[str, float]) -> list[str]:
    """Doc ids by score, highest first; equal scores by descending doc id.

    The tie rule is trec_eval's (`comp_sim_docno` compares the ids reversed);
    matching it keeps our numbers equal to pytrec_eval's when scores tie.
    """
    # Two stable sorts: ids descending, then scores descending keeps that order on ties.
    by_id = sorted(scores, reverse=True)
    return sorted(by_id, key=lambda doc: scores[doc], reverse=True)


def _top(ranked: Iterable[str], k: int) -> list[str]:
    """The first k distinct ids: a repeated id must not earn its gain twice."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    seen: dict[str, None] = {}
    for doc in ranked:
        seen.setdefault(doc, None)
        if len(seen) == k:
            break
    return list(seen)


def _discount(rank: int) -> float:
    return 1.0 / math.log2(rank + 1)


def ndcg_at_k(ranked: Sequence[str], qrels: Mapping[str, int], k: int) -> float:
    """Normalised discounted cumulative gain of the top k; 0.0 if nothing is relevant."""
    top = _top(ranked, k)
    ideal = sorted((grade for grade in qrels.values() if grade > 0), reverse=True)[:k]
    ideal_dcg = sum(grade * _discount(rank) for rank, grade in enumerate(ideal, start=1))
    if ideal_dcg == 0.0:
        return 0.0
    dcg = sum(max(qrels.get(doc, 0), 0) * _discount(rank) for rank, doc in enumerate(top, start=1))
    return dcg / ideal_dcg


def recall_at_k(ranked: Sequence[str], qrels: Mapping[str, int], k: int) -> float:
    """Share of the relevant documents found in the top k; 0.0 if nothing is relevant."""
    top = _top(ranked, k)
    relevant = sum(1 for grade in qrels.values() if grade > 0)
    if relevant == 0:
        return 0.0
    found = sum(1 for doc in top if qrels.get(doc, 0) > 0)
    return found / relevant


def mrr_at_k(ranked: Sequence[str], qrels: Mapping[str, int], k: int) -> float:
    """Reciprocal rank of the first relevant document in the top k, else 0.0."""
    for rank, doc in enumerate(_top(ranked, k), start=1):
        if qrels.get(doc, 0) > 0:
            return 1.0 / rank
    return 0.0


def per_query(
    run: Mapping[str, Sequence[str]], qrels: Mapping[str, Mapping[str, int]]
) -> dict[str, dict[str, float]]:
    """{metric: {query id: value}} over the queries `evaluate` averages."""
    out: dict[str, dict[str, float]] = {name: {} for name in METRICS}
    for query, judged in qrels.items():
        if not any(grade > 0 for grade in judged.values()):
            continue
        ranked = [doc for doc in run.get(query, ()) if doc != query]
        out["ndcg@10"][query] = ndcg_at_k(ranked, judged, 10)
        out["recall@100"][query] = recall_at_k(ranked, judged, 100)
        out["mrr@10"][query] = mrr_at_k(ranked, judged, 10)
    return out


def paired_bootstrap(
    a: Mapping[str, float], b: Mapping[str, float], *, rounds: int = 2000, seed: int = 0
) -> tuple[float, float, float]:
    """Mean of a - b over shared queries, and its 95% interval from resampling queries."""
    queries = sorted(a.keys() & b.keys())
    if not queries:
        return 0.0, 0.0, 0.0
    diffs = [a[q] - b[q] for q in queries]
    rng = random.Random(seed)
    means = sorted(fmean(rng.choices(diffs, k=len(diffs))) for _ in range(rounds))
    return fmean(diffs), means[int(0.025 * rounds)], means[int(0.975 * rounds) - 1]


def evaluate(
    run: Mapping[str, Sequence[str]], qrels: Mapping[str, Mapping[str, int]]
) -> dict[str, float]:
    """Mean nDCG@10, Recall@100 and MRR@10 over the queries with a relevant document.

    `run` maps a query id to its ranked doc ids. Queries whose judgments hold
    no relevant document are skipped, since no ranking can score on them. A
    judged query missing from the run scores 0 rather than being dropped (BEIR
    would drop it), so a system cannot gain by failing to answer. A query's
    own id is removed from its results, as BEIR does, because some benchmarks
    (ArguAna, Quora) put each query in the corpus too. With no judged query at
    all every mean is 0.0.
    """
    values = per_query(run, qrels)
    return {name: fmean(v.values()) if v else 0.0 for name, v in values.items()}
