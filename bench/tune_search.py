"""Measure search choices on a BEIR-layout set: field boosts and fusion methods.

    python bench/tune_search.py [DIR] [--cache DIR]

DIR defaults to the development set in tests/fixtures/beir-arxiv. One set
only: choices are made on every development set with bench/search_lab.py. The index
is built once; each choice re-ranks the same queries, so the table compares
like with like. The defaults in paperroute.index.lexical.FIELD_BOOSTS and
paperroute.search.hybrid.FUSION come from this table.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from paperroute.index import lexical
from paperroute.index.embed import MiniLMOnnx
from paperroute.index.vector_cache import VectorCache
from paperroute.search import hybrid
from paperroute.search.beir import BeirSet, load_beir
from paperroute.search.evaluate import benchmark_query, index_beir
from paperroute.search.metrics import evaluate
from paperroute.search.service import Mode, Ranker

DEV_SET = Path(__file__).parents[1] / "tests" / "fixtures" / "beir-arxiv"
CACHE = Path(__file__).parent / "cache" / "beir"


def run(ranker: Ranker, data: BeirSet, doc_ids: list[str], mode: Mode) -> dict[str, float]:
    results = {}
    for query_id, text in data.queries.items():
        ids, _ = ranker.rank(benchmark_query(text), mode=mode, depth=100)
        results[query_id] = [doc_ids[i - 1] for i in ids]
    return evaluate(results, data.qrels)


def choices() -> list[tuple[str, Mode, Callable[[], None]]]:
    """(label, mode, how to set the module defaults for it)."""

    def setting(boosts: dict[str, float], fusion: dict[str, object]) -> Callable[[], None]:
        def apply() -> None:
            lexical.FIELD_BOOSTS.clear()
            lexical.FIELD_BOOSTS.update(boosts)
            hybrid.FUSION.clear()
            hybrid.FUSION.update(fusion)

        return apply

    plain = {"body": 1.0, "title": 0.3, "authors": 1.0}
    found: list[tuple[str, Mode, Callable[[], None]]] = [
        ("semantic", "semantic", setting(plain, {"method": "rrf", "k": 60})),
    ]
    for title in (0.1, 0.3, 0.5, 1.0):
        boosts = plain | {"title": title}
        found.append(
            (f"lexical, title x{title:g}", "lexical", setting(boosts, {"method": "rrf", "k": 60}))
        )
    for title in (0.3, 0.5):
        boosts = plain | {"title": title}
        for k in (20, 60):
            found.append(
                (
                    f"hybrid RRF k={k}, title x{title:g}",
                    "hybrid",
                    setting(boosts, {"method": "rrf", "k": k}),
                )
            )
        for alpha, normalise in ((0.3, "max"), (0.4, "max"), (0.5, "minmax")):
            fusion: dict[str, object] = {"method": "convex", "alpha": alpha, "normalise": normalise}
            found.append(
                (
                    f"hybrid convex {normalise} a={alpha}, title x{title:g}",
                    "hybrid",
                    setting(boosts, fusion),
                )
            )
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, nargs="?", default=DEV_SET)
    parser.add_argument("--cache", type=Path, default=CACHE)
    args = parser.parse_args()
    data = load_beir(args.folder)
    embedder = MiniLMOnnx()
    saved_boosts, saved_fusion = dict(lexical.FIELD_BOOSTS), dict(hybrid.FUSION)
    with tempfile.TemporaryDirectory() as work:
        index, doc_ids = index_beir(data, Path(work), embedder, VectorCache(args.cache))
        ranker = Ranker(index, embedder)
        table = Table(
            title=f"{args.folder.name}: {len(data.corpus):,} docs, {len(data.queries):,} queries"
        )
        for column in ("choice", "nDCG@10", "Recall@100", "MRR@10"):
            table.add_column(column, justify="left" if column == "choice" else "right")
        for label, mode, apply in choices():
            apply()
            scores = run(ranker, data, doc_ids, mode)
            table.add_row(label, *(f"{scores[m]:.4f}" for m in ("ndcg@10", "recall@100", "mrr@10")))
    lexical.FIELD_BOOSTS.update(saved_boosts)
    hybrid.FUSION.update(saved_fusion)
    Console().print(table)


if __name__ == "__main__":
    main()
