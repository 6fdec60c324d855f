"""`paperroute eval recommend`: every recommender on the same simulated readers, with intervals.

Readers and targets come from rank.protocol (names serve only there; every
method sees the papers without authors). For each reader a method scores
every window paper; the reader's own window papers are left out of the
ranking under the collaborators protocol. Metrics over the whole ranking,
averaged over readers: recall@20, nDCG@20 (binary gains) and MRR. Ties are
broken by a random order seeded per reader, the same for every method, so
a method that scores everything alike lands at chance. The gap of ours to
each baseline comes with a paired bootstrap 95% interval (1,000 resamples
of readers).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
import numpy.typing as npt

from paperroute.index.embed import Embedder, embedding_text, text_hash
from paperroute.index.vector_cache import VectorCache, embed_with_cache
from paperroute.rank import baselines
from paperroute.rank.protocol import SimulatedReader, Simulation
from paperroute.rank.recommend import Corpus, Reader, score_reader

__all__ = [
    "BASELINES",
    "METHODS",
    "MethodResult",
    "embed_for",
    "evaluate_recommenders",
    "ours_minus",
    "prepare_ours",
    "sample_readers",
    "with_svm_c",
]

K = 20
RESAMPLES = 1000
BASELINES = ("newest", "popularity", "category-prior", "tfidf-centroid", "embedding-centroid",
             "arxiv-sanity")  # fmt: skip
METHODS = (*BASELINES, "ours")
BACKGROUND = 1000  # history papers our model draws its unlabelled negatives from

Scores = npt.NDArray[np.float64]
Progress = Callable[[str, int, int], None]  # (method, readers done, readers)
Prepare = Callable[[Simulation, Sequence[SimulatedReader]], baselines.Scorer]


def background_rows(
    sim: Simulation, readers: Sequence[SimulatedReader], seed: int = 0
) -> npt.NDArray[np.int64]:
    """The unlabelled papers of H a reader's model may take as negatives: the measured readers'
    liked papers (embedded anyway), topped up with a seeded sample of H to BACKGROUND."""
    known = np.unique(np.concatenate([r.liked for r in readers] or [np.zeros(0, np.int64)]))
    if len(known) >= BACKGROUND:
        return known.astype(np.int64)
    rest = np.setdiff1d(sim.history, known)
    extra = np.random.default_rng(seed).permutation(rest)[: BACKGROUND - len(known)]
    return np.sort(np.concatenate([known, extra])).astype(np.int64)


def prepare_ours(
    sim: Simulation, readers: Sequence[SimulatedReader], seed: int = 0
) -> baselines.Scorer:
    """rank.recommend's model, with the pool as its corpus and part of H as background."""
    corpus = Corpus(sim.papers, sim.vectors, background=background_rows(sim, readers, seed))
    candidates = corpus.rows.take(sim.window).indexed()

    def score(reader: SimulatedReader) -> Scores:
        liked = Reader(corpus.rows.take(reader.liked), liked_rows=reader.liked)
        return score_reader(corpus, liked, candidates).astype(np.float64)

    return score


def _alone(prepare: Callable[[Simulation], baselines.Scorer]) -> Prepare:
    """A baseline's preparation, which needs no readers."""
    return lambda sim, _: prepare(sim)


PREPARE: dict[str, Prepare] = {
    "newest": _alone(baselines.prepare_newest),
    "popularity": _alone(baselines.prepare_popularity),
    "category-prior": _alone(baselines.prepare_category_prior),
    "tfidf-centroid": _alone(baselines.prepare_tfidf_centroid),
    "embedding-centroid": _alone(baselines.prepare_embedding_centroid),
    "arxiv-sanity": _alone(baselines.prepare_arxiv_sanity),
    "ours": prepare_ours,
    "by-name": _alone(baselines.prepare_by_name),  # a leak detector for tests, never reported
}


def sample_readers(
    readers: Sequence[SimulatedReader], count: int, seed: int = 0
) -> list[SimulatedReader]:
    """A seeded sample of `count` readers in their order (all when count is 0 or too large)."""
    if not count or count >= len(readers):
        return list(readers)
    # A prefix of one seeded order: a smaller sample is part of a larger one.
    picks = np.random.default_rng(seed).permutation(len(readers))[:count]
    return [readers[i] for i in sorted(picks)]


def embed_for(
    sim: Simulation,
    readers: Sequence[SimulatedReader],
    embedder: Embedder,
    cache: VectorCache | None = None,
    progress: Callable[[int, int], None] | None = None,
    seed: int = 0,
) -> None:
    """Give the simulation the embeddings these readers' runs need (a cache spares recomputing)."""
    rows = sim.rows_needed(readers, background_rows(sim, readers, seed))
    texts = [embedding_text(sim.papers[r].title, sim.papers[r].abstract) for r in rows]
    done = 0

    def advance(count: int) -> None:
        nonlocal done
        done += count
        if progress is not None:
            progress(done, len(rows))

    computed = embed_with_cache(embedder, texts, [text_hash(t) for t in texts], cache,
                                progress=advance)  # fmt: skip
    sim.vectors = np.zeros((len(sim.papers), embedder.dim), dtype=np.float32)
    sim.vectors[rows] = computed


@dataclass(slots=True)
class MethodResult:
    per_reader: npt.NDArray[np.float64]  # readers x (recall@20, nDCG@20, MRR)
    ms: list[float]  # time to score one reader

    @property
    def recall(self) -> float:
        return float(self.per_reader[:, 0].mean()) if len(self.per_reader) else 0.0

    @property
    def ndcg(self) -> float:
        return float(self.per_reader[:, 1].mean()) if len(self.per_reader) else 0.0

    @property
    def mrr(self) -> float:
        return float(self.per_reader[:, 2].mean()) if len(self.per_reader) else 0.0

    def as_json(self) -> dict[str, float]:
        ms = float(np.mean(self.ms)) if self.ms else 0.0
        return {"recall@20": self.recall, "ndcg@20": self.ndcg, "mrr": self.mrr,
                "ms_per_reader": ms}  # fmt: skip


def reader_metrics(
    scores: Scores, targets: npt.NDArray[np.int64], excluded: npt.NDArray[np.int64],
    tie: npt.NDArray[np.int64],
) -> tuple[float, float, float]:  # fmt: skip
    """recall@K, nDCG@K (binary gains) and MRR of one ranking; `excluded` are not ranked."""
    scores = np.array(scores, dtype=np.float64)
    scores[np.isnan(scores)] = -np.inf
    scores[excluded] = -np.inf  # ranked after everything: targets are never excluded
    order = np.lexsort((tie, -scores))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(1, len(order) + 1)
    found = np.sort(rank[targets])
    hits = found[found <= K]
    ideal = np.sum(1.0 / np.log2(np.arange(2, min(len(found), K) + 2)))
    ndcg = float(np.sum(1.0 / np.log2(hits + 1)) / ideal)
    return len(hits) / len(found), ndcg, 1.0 / float(found[0])


def tie_order(count: int, seed: int, reader: int) -> npt.NDArray[np.int64]:
    """A random order of the window, seeded per reader: the same for every method."""
    return np.random.default_rng([seed, reader]).permutation(count).astype(np.int64)


def evaluate_recommenders(
    sim: Simulation,
    readers: Sequence[SimulatedReader],
    methods: Sequence[str] = METHODS,
    progress: Progress | None = None,
    seed: int = 0,
    prepare: dict[str, Prepare] | None = None,
) -> dict[str, MethodResult]:
    """Each method's metrics per reader and its time per reader, on the same readers."""
    chosen = PREPARE | (prepare or {})
    ties = [tie_order(len(sim.window), seed, n) for n in range(len(readers))]
    results: dict[str, MethodResult] = {}
    for method in methods:
        scorer = chosen[method](sim, readers)
        found: list[tuple[float, float, float]] = []
        spent: list[float] = []
        for done, reader in enumerate(readers):
            started = time.perf_counter()
            scores = scorer(reader)
            spent.append((time.perf_counter() - started) * 1000)
            found.append(reader_metrics(scores, reader.targets, reader.excluded, ties[done]))
            if progress is not None:
                progress(method, done + 1, len(readers))
        results[method] = MethodResult(np.array(found, dtype=np.float64).reshape(-1, 3), spent)
    return results


def ours_minus(
    results: dict[str, MethodResult], seed: int = 0, resamples: int = RESAMPLES, ours: str = "ours"
) -> dict[str, dict[str, list[float]]]:
    """Per baseline, [low, mean, high] of ours minus it: mean over readers, paired bootstrap 95%."""
    mine = results[ours].per_reader
    picks = np.random.default_rng(seed).integers(0, len(mine), (resamples, len(mine)))
    out: dict[str, dict[str, list[float]]] = {}
    for name, result in results.items():
        if name == ours:
            continue
        gaps = mine - result.per_reader
        means = gaps[picks].mean(axis=1)
        low, high = np.percentile(means, [2.5, 97.5], axis=0)
        observed = gaps.mean(axis=0)
        out[name] = {metric: [float(low[i]), float(observed[i]), float(high[i])]
                     for i, metric in enumerate(("recall@20", "ndcg@20"))}  # fmt: skip
    return out


def with_svm_c(c: float) -> dict[str, Prepare]:
    """The methods with arxiv-sanity's SVM at this C."""
    return {"arxiv-sanity": _alone(partial(baselines.prepare_arxiv_sanity, c=c))}
