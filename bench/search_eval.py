"""`paperroute eval beir` on every development set and the held-out one, with intervals.

    python bench/search_eval.py [FOLDER ...] [--label before|after]

Runs the same code as the command (paperroute.search.evaluate.run_beir) on
each BEIR folder (default: beir-arxiv, nfcorpus, qbe-dev and the held-out
qbe-heldout), prints nDCG@10, Recall@100 and MRR@10 of our three modes and
the three plain baselines, and the paired bootstrap 95% interval over
queries of hybrid - plain-rrf and lexical - plain-bm25 (nDCG@10). Vectors
are cached in bench/cache/beir, so only the queries are embedded again.
Figures go to bench/results/search_eval-LABEL.json.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
from pathlib import Path

import orjson
from rich.console import Console
from rich.table import Table

from paperroute.index.embed import MiniLMOnnx
from paperroute.index.vector_cache import VectorCache
from paperroute.search.beir import load_beir
from paperroute.search.evaluate import run_beir
from paperroute.search.metrics import METRICS, evaluate, paired_bootstrap, per_query

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = [
    ROOT / "tests" / "fixtures" / "beir-arxiv",
    (ROOT / "../shared/benchmarks/nfcorpus").resolve(),
    ROOT / "bench" / "cache" / "qbe-dev",
    ROOT / "bench" / "cache" / "qbe-heldout",
]
CACHE = ROOT / "bench" / "cache" / "beir"
PAIRS = (("hybrid", "plain-rrf"), ("lexical", "plain-bm25"), ("semantic", "plain-semantic"))


def measure(folder: Path, embedder: MiniLMOnnx) -> dict[str, object]:
    data = load_beir(folder)
    with tempfile.TemporaryDirectory(prefix="search-eval-") as work:
        runs = run_beir(data, Path(work), embedder, VectorCache(CACHE))
    scores = {name: evaluate(run, data.qrels) for name, run in runs.items()}
    ndcg = {name: per_query(run, data.qrels)["ndcg@10"] for name, run in runs.items()}
    intervals = {f"{a} - {b}": paired_bootstrap(ndcg[a], ndcg[b]) for a, b in PAIRS}
    return {"docs": len(data.corpus), "queries": len(data.queries), "scores": scores,
            "ndcg@10 differences (mean, 2.5%, 97.5%)": intervals}  # fmt: skip


def show(name: str, result: dict[str, object]) -> None:
    scores: dict[str, dict[str, float]] = result["scores"]  # type: ignore[assignment]
    table = Table(title=f"{name}: {result['docs']:,} docs, {result['queries']:,} queries")
    table.add_column("search")
    for metric in METRICS:
        table.add_column(metric, justify="right")
    for mode, values in scores.items():
        table.add_row(mode, *(f"{values[m]:.4f}" for m in METRICS))
    Console().print(table)
    intervals: dict[str, tuple[float, float, float]] = result[
        "ndcg@10 differences (mean, 2.5%, 97.5%)"
    ]  # type: ignore[assignment]
    for label, (mean, low, high) in intervals.items():
        Console().print(f"  nDCG@10 {label}: {mean:+.4f} [{low:+.4f}, {high:+.4f}]")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("folders", type=Path, nargs="*", default=FOLDERS)
    parser.add_argument("--label", default="after")
    args = parser.parse_args()
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, no GPU"
    Console().print(f"machine: {machine}", style="dim")
    embedder = MiniLMOnnx()
    results: dict[str, object] = {"machine": machine}
    for folder in args.folders:
        results[folder.name] = result = measure(folder, embedder)
        show(folder.name, result)  # type: ignore[arg-type]
    out = ROOT / "bench" / "results" / f"search_eval-{args.label}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()
