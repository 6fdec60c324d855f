"""`paperroute eval beir`: retrieval quality of lexical, semantic and hybrid search.

Plain baselines are measured in the same run on the same corpus and vectors:
`plain-bm25` (paperroute.index.baseline), `plain-semantic` (cosine between the
query's and the documents' MiniLM vectors, title and text, first 256 word
pieces) and `plain-rrf` (reciprocal rank fusion of the two, k = 60).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from paperroute.index.baseline import PlainBM25
from paperroute.index.catalog import Catalog
from paperroute.index.embed import Embedder, Vectors, embedding_text, text_hash
from paperroute.index.lexical import LexicalDoc, LexicalIndex
from paperroute.index.sync import IndexFiles
from paperroute.index.vector_cache import VectorCache, embed_with_cache
from paperroute.index.vectors import VectorIndex
from paperroute.search.beir import BeirSet
from paperroute.search.hybrid import fuse_rrf
from paperroute.search.metrics import evaluate
from paperroute.search.query import ParsedQuery, words_query
from paperroute.search.service import Mode, Ranker

__all__ = ["BASELINES", "MODES", "benchmark_query", "evaluate_beir", "index_beir", "run_beir"]

MODES: tuple[Mode, ...] = ("lexical", "semantic", "hybrid")
BASELINES = ("plain-bm25", "plain-semantic", "plain-rrf")
DEPTH = 100
Progress = Callable[[str, int, int], None]  # (stage, done, total)


def benchmark_query(text: str) -> ParsedQuery:
    """A benchmark query taken as plain words: its colons and dashes are not operators."""
    return words_query(text)


def index_beir(
    beir: BeirSet,
    folder: Path,
    embedder: Embedder,
    cache: VectorCache | None,
    progress: Progress | None = None,
) -> tuple[IndexFiles, list[str]]:
    """Index a benchmark corpus (ids become 1..n) in a folder; return the index and the doc ids."""
    doc_ids = list(beir.corpus)
    lexical = LexicalIndex(folder / "lexical")
    lexical.upsert(
        (LexicalDoc(n, title, text, (), (), None, False) for n, (title, text) in enumerate(beir.corpus.values(), start=1)),
        fresh=True,
    )  # fmt: skip
    lexical.commit()
    texts = [embedding_text(title, text) for title, text in beir.corpus.values()]
    done = 0

    def advance(count: int) -> None:
        nonlocal done
        done += count
        if progress is not None:
            progress("embedding", done, len(texts))

    vectors = embed_with_cache(
        embedder, texts, [text_hash(t) for t in texts], cache, progress=advance
    )
    ids = np.arange(1, len(doc_ids) + 1, dtype=np.int64)
    index = IndexFiles(folder, ".", None, embedder.name, lexical,
                       VectorIndex.build(ids, vectors, embedder.dim), Catalog())  # fmt: skip
    return index, doc_ids


def evaluate_beir(
    beir: BeirSet,
    folder: Path,
    embedder: Embedder,
    cache: VectorCache | None = None,
    progress: Progress | None = None,
) -> dict[str, dict[str, float]]:
    """{mode: {"ndcg@10", "recall@100", "mrr@10"}} for our modes, then the plain baselines."""
    runs = run_beir(beir, folder, embedder, cache, progress)
    return {name: evaluate(run, beir.qrels) for name, run in runs.items()}


class _QueryCache:
    """An embedder that keeps the vector of each text it was asked for (in `cache`, if
    given): the modes and the baselines embed each query once, and a rerun not at all."""

    def __init__(self, embedder: Embedder, cache: VectorCache | None) -> None:
        self._embedder, self._cache = embedder, cache
        self._seen: dict[str, np.ndarray] = {}
        self.name, self.dim = embedder.name, embedder.dim

    def embed(self, texts: Sequence[str]) -> Vectors:
        keys = [f"{self.name}:query:{text_hash(t)}" for t in texts]
        todo = [i for i, key in enumerate(keys) if key not in self._seen]
        if todo:
            found = embed_with_cache(
                self._embedder, [texts[i] for i in todo], [keys[i] for i in todo], self._cache
            )
            self._seen.update({keys[i]: found[n] for n, i in enumerate(todo)})
        return np.stack([self._seen[key] for key in keys]).astype(np.float32)


def run_beir(
    beir: BeirSet,
    folder: Path,
    embedder: Embedder,
    cache: VectorCache | None = None,
    progress: Progress | None = None,
) -> dict[str, dict[str, list[str]]]:
    """{mode: {query id: ranked doc ids}} for our modes, then the plain baselines.

    Each list is one deeper than reported: a query that is itself a corpus
    document is dropped from its own results by `evaluate`.
    """
    index, doc_ids = index_beir(beir, folder, embedder, cache, progress)
    queries = _QueryCache(embedder, cache)
    ranker = Ranker(index, queries)
    plain = PlainBM25(folder / "plain-bm25", beir.corpus.values())
    runs: dict[str, dict[str, list[str]]] = {name: {} for name in (*MODES, *BASELINES)}
    query_vectors = queries.embed(list(beir.queries.values()))
    for n, (query_id, text) in enumerate(beir.queries.items(), start=1):
        parsed = benchmark_query(text)
        for mode in MODES:
            ids, _ = ranker.rank(parsed, mode=mode, depth=DEPTH + 1)
            runs[mode][query_id] = [doc_ids[i - 1] for i in ids]
        positions, scores = plain.search(text, limit=DEPTH + 1)
        bm25 = ([p + 1 for p in positions], scores)
        cosine = index.vectors.search(query_vectors[n - 1], DEPTH + 1)
        fused, _ = fuse_rrf([bm25, cosine], k=60.0)
        for name, ids in (("plain-bm25", bm25[0]), ("plain-semantic", cosine[0]),
                          ("plain-rrf", fused[: DEPTH + 1])):  # fmt: skip
            runs[name][query_id] = [doc_ids[i - 1] for i in ids]
        if progress is not None:
            progress("searching", n, len(beir.queries))
    return runs
