"""`paperroute eval recommend`: recommenders measured by simulating readers from authorship.

Every author with at least 3 papers announced before the cutoff and one in
the 30 days from it is a reader; their papers before the cutoff are what they
"saved". For each reader every paper of those 30 days is ranked, and their
own papers among them are the relevant ones: recall@20, nDCG@20 (binary
gains) and MRR over the whole ranking, averaged over readers. Ties are broken
the same way for every method: the newer arXiv id first.

Methods, on the same readers:
- newest: announcement day, newest first;
- trending: no signals exist in a corpus file, so the popularity of the
  paper's primary category among the papers before the cutoff;
- arxiv-sanity: arxiv-sanity-lite's recommender as its compute.py and
  serve.py write it: tf-idf of title, abstract and author names (its
  TfidfVectorizer settings), and per reader a
  LinearSVC(C=0.01, class_weight="balanced") with the reader's papers as
  positives and every other paper of the database as negatives, ranking by
  the decision function;
- ours: rank.recommend, with the papers' MiniLM embeddings when the run has
  them (the command computes them, or reads them from a cache);
- ours-text: the same without the author signal. A reader here is an author,
  so a paper by an author they "saved" is by construction often relevant:
  this row shows what the words and topics alone find.
"""

from __future__ import annotations

import datetime as dt
import time
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC

from paperroute.domain import Paper
from paperroute.index.embed import Embedder, embedding_text, text_hash
from paperroute.index.vector_cache import VectorCache, embed_with_cache
from paperroute.rank.recommend import Corpus, Reader, score_reader

__all__ = [
    "METHODS",
    "MethodResult",
    "SimulatedReader",
    "Simulation",
    "embed_for",
    "evaluate_recommenders",
]

WINDOW = dt.timedelta(days=30)
MIN_EARLIER_PAPERS = 3
K = 20
METHODS = ("newest", "trending", "arxiv-sanity", "ours", "ours-text")

Ids = npt.NDArray[np.int64]
Vectors = npt.NDArray[np.float32]
Scores = npt.NDArray[np.float64]
Progress = Callable[[str, int, int], None]  # (method, readers done, readers)


@dataclass(frozen=True, slots=True)
class SimulatedReader:
    name: str
    saved: Ids  # rows of the pool: their papers before the cutoff
    relevant: Ids  # positions among the candidates: their papers after it


@dataclass(slots=True)
class Simulation:
    papers: list[Paper]  # the pool: what a site would hold on the last day of the window
    earlier: Ids  # rows announced before the cutoff
    candidates: Ids  # rows announced in the window
    readers: list[SimulatedReader] = field(default_factory=list[SimulatedReader])
    vectors: Vectors | None = None  # embeddings of the pool's rows (zeros where not needed)

    @classmethod
    def make(cls, papers: Sequence[Paper], cutoff: dt.date) -> Simulation:
        end = cutoff + WINDOW
        pool = sorted((p for p in papers if p.announced and p.announced < end), key=_identity)
        days = np.array([p.announced.toordinal() for p in pool if p.announced], dtype=np.int64)
        earlier = np.flatnonzero(days < cutoff.toordinal())
        candidates = np.flatnonzero(days >= cutoff.toordinal())
        before: Counter[str] = Counter()
        saved: defaultdict[str, list[int]] = defaultdict(list)
        for row in earlier:
            for name in pool[row].authors:
                before[name] += 1
                saved[name].append(int(row))
        relevant: defaultdict[str, list[int]] = defaultdict(list)
        for position, row in enumerate(candidates):
            for name in pool[row].authors:
                if before[name] >= MIN_EARLIER_PAPERS:
                    relevant[name].append(position)
        readers = [SimulatedReader(n, np.array(saved[n]), np.array(relevant[n]))
                   for n in sorted(relevant)]  # fmt: skip
        return cls(pool, earlier, candidates, readers)

    def rows_needed(self, readers: Sequence[SimulatedReader]) -> Ids:
        """The pool rows these readers' runs read: their saved papers and the candidates."""
        saved = [r.saved for r in readers]
        return np.unique(np.concatenate([self.candidates, *saved]).astype(np.int64))


def embed_for(
    sim: Simulation,
    readers: Sequence[SimulatedReader],
    embedder: Embedder,
    cache: VectorCache | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """Give the simulation the embeddings these readers' runs need (a cache spares recomputing)."""
    rows = sim.rows_needed(readers)
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


def _identity(paper: Paper) -> str:
    return paper.arxiv_id or paper.key or paper.title


@dataclass(slots=True)
class MethodResult:
    recall: float
    ndcg: float
    mrr: float
    train_ms: list[float]

    def as_json(self) -> dict[str, float]:
        ms = np.array(self.train_ms) if self.train_ms else np.zeros(1)
        return {"recall@20": self.recall, "ndcg@20": self.ndcg, "mrr": self.mrr,
                "train_ms_per_user": float(ms.mean()),
                "train_ms_p95": float(np.percentile(ms, 95))}  # fmt: skip


def _metrics(scores: Scores, relevant: Ids, tie: Ids) -> tuple[float, float, float]:
    order = np.lexsort((tie, -scores))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(1, len(order) + 1)
    found = np.sort(rank[relevant])
    hits = found[found <= K]
    ideal = np.sum(1.0 / np.log2(np.arange(2, min(len(found), K) + 2)))
    ndcg = float(np.sum(1.0 / np.log2(hits + 1)) / ideal)
    return len(hits) / len(found), ndcg, 1.0 / float(found[0])


Scorer = Callable[[SimulatedReader], Scores]


def _newest(sim: Simulation) -> Scorer:
    days = np.array([sim.papers[r].announced.toordinal() for r in sim.candidates],  # type: ignore[union-attr]
                    dtype=np.float64)  # fmt: skip
    return lambda _: days


def _trending(sim: Simulation) -> Scorer:
    shares = Counter(sim.papers[r].categories[0] for r in sim.earlier if sim.papers[r].categories)
    total = max(1, len(sim.earlier))
    popularity = np.array(
        [shares.get(sim.papers[r].categories[0] if sim.papers[r].categories else "", 0) / total
         for r in sim.candidates], dtype=np.float64,
    )  # fmt: skip
    return lambda _: popularity


# Its serve.py's settings; dual=True was LinearSVC's default when it was written
# (today's "auto" picks the primal solver here: the same solution, six times slower).
_ARXIV_SANITY_SVM: dict[str, Any] = {"class_weight": "balanced", "verbose": 0, "max_iter": 10000,
                                     "tol": 1e-6, "C": 0.01, "dual": True}  # fmt: skip


def _arxiv_sanity(sim: Simulation) -> Scorer:
    vectorizer = TfidfVectorizer(
        input="content", encoding="utf-8", decode_error="replace", strip_accents="unicode",
        lowercase=True, analyzer="word", stop_words="english",
        token_pattern=r"(?u)\b[a-zA-Z_][a-zA-Z0-9_]+\b", ngram_range=(1, 2), max_features=20000,
        norm="l2", use_idf=True, smooth_idf=True, sublinear_tf=True, max_df=0.1, min_df=5,
    )  # fmt: skip
    texts = [" ".join([p.title, p.abstract, " ".join(p.authors)]) for p in sim.papers]
    features: Any = sp.csr_matrix(vectorizer.fit_transform(texts))  # scipy has no types

    def score(reader: SimulatedReader) -> Scores:
        labels = np.zeros(features.shape[0], dtype=np.float32)
        labels[reader.saved] = 1.0
        svm = LinearSVC(**_ARXIV_SANITY_SVM)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # liblinear's "did not converge" on some readers
            svm.fit(features, labels)
        return np.asarray(svm.decision_function(features[sim.candidates]), dtype=np.float64)

    return score


def _ours(sim: Simulation, *, authors: bool = True) -> Scorer:
    corpus = Corpus(sim.papers, sim.vectors)
    candidates = corpus.rows.take(sim.candidates).indexed()
    if not authors:  # "ours-text": no author columns, so the author part is zero
        candidates = replace(candidates, authors=candidates.authors[:, :0])

    def score(reader: SimulatedReader) -> Scores:
        liked = corpus.rows.take(reader.saved)
        if not authors:
            liked = replace(liked, authors=liked.authors[:, :0])
        return score_reader(corpus, Reader(liked), candidates).astype(np.float64)

    return score


_PREPARE: dict[str, Callable[[Simulation], Scorer]] = {
    "newest": _newest, "trending": _trending, "arxiv-sanity": _arxiv_sanity,
    "ours": _ours, "ours-text": partial(_ours, authors=False),
}  # fmt: skip


def evaluate_recommenders(
    sim: Simulation,
    readers: Sequence[SimulatedReader],
    methods: Sequence[str] = METHODS,
    progress: Progress | None = None,
) -> dict[str, MethodResult]:
    """Each method's mean metrics over these readers, and its time per reader."""
    keys = [_identity(sim.papers[r]) for r in sim.candidates]
    tie = np.argsort(np.argsort(keys)[::-1])  # the newer (larger) id first among equals
    results: dict[str, MethodResult] = {}
    for method in methods:
        scorer = _PREPARE[method](sim)
        found: list[tuple[float, float, float]] = []
        spent: list[float] = []
        for done, reader in enumerate(readers):
            started = time.perf_counter()
            scores = scorer(reader)
            spent.append((time.perf_counter() - started) * 1000)
            found.append(_metrics(scores, reader.relevant, tie))
            if progress is not None:
                progress(method, done + 1, len(readers))
        mean = np.array(found).mean(axis=0) if found else np.zeros(3)
        results[method] = MethodResult(float(mean[0]), float(mean[1]), float(mean[2]), spent)
    return results
