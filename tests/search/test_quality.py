"""Retrieval quality on the development set: hybrid must beat both of its parts.

Embeds the set's 1,900 abstracts with the real model (a minute or two on two
cores), so it is marked slow; CI runs it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from paperroute.index.embed import MiniLMOnnx
from paperroute.search.beir import load_beir
from paperroute.search.evaluate import evaluate_beir

DEV_SET = Path(__file__).parents[1] / "fixtures" / "beir-arxiv"


@pytest.mark.slow
def test_hybrid_beats_lexical_and_semantic_on_the_development_set(tmp_path: Path) -> None:
    results = evaluate_beir(load_beir(DEV_SET), tmp_path, MiniLMOnnx())
    for metric in ("ndcg@10", "mrr@10"):
        best_part = max(results["lexical"][metric], results["semantic"][metric])
        assert results["hybrid"][metric] > best_part + 0.01, (metric, results)
    ours = [results[mode]["recall@100"] for mode in ("lexical", "semantic")]
    assert results["hybrid"]["recall@100"] >= max(ours) - 1e-9
    # and it must beat the plain baselines' fusion measured in the same run
    assert results["hybrid"]["ndcg@10"] > results["plain-rrf"]["ndcg@10"] + 0.01, results
    assert results["lexical"]["ndcg@10"] >= results["plain-bm25"]["ndcg@10"], results
    assert results["lexical"]["ndcg@10"] > 0.7 and results["semantic"]["ndcg@10"] > 0.6
