"""The methods `paperroute eval recommend` compares ours against, as scorers over a window.

Each `prepare_*` takes a Simulation once and returns a function from one
reader to a score per window paper (higher is better). They see only
`Simulation.papers`, which carry no authors unless the protocol is
`authorship`.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC

from paperroute.rank.protocol import SimulatedReader, Simulation, normalise_name
from paperroute.rank.recommend import TEXT_FEATURES, paper_text

__all__ = [
    "ARXIV_SANITY_C",
    "ARXIV_SANITY_CS",
    "Scorer",
    "prepare_arxiv_sanity",
    "prepare_by_name",
    "prepare_category_prior",
    "prepare_embedding_centroid",
    "prepare_newest",
    "prepare_popularity",
    "prepare_tfidf_centroid",
]

Scores = npt.NDArray[np.float64]
Scorer = Callable[[SimulatedReader], Scores]

ARXIV_SANITY_CS = (0.001, 0.01, 0.1, 1.0)
# Chosen from ARXIV_SANITY_CS by recall@20 on the validation cutoff 2025-12-01 of the
# shared corpus (bench/recommend.py: 0.001 and 0.01 tied at 0.050, 0.1 0.037, 1 0.002;
# the first of the tie); arxiv-sanity-lite's own default is 0.01.
ARXIV_SANITY_C = 0.001


def prepare_newest(sim: Simulation) -> Scorer:
    days = np.array([sim.papers[r].announced.toordinal() for r in sim.window],  # type: ignore[union-attr]
                    dtype=np.float64)  # fmt: skip
    return lambda _: days


def _primary(sim: Simulation, row: int) -> str:
    categories = sim.papers[row].categories
    return categories[0] if categories else ""


def prepare_popularity(sim: Simulation) -> Scorer:
    """Trending without signals: the share of the paper's primary category in H."""
    shares = Counter(_primary(sim, int(r)) for r in sim.history)
    total = max(1, len(sim.history))
    scores = np.array([shares[_primary(sim, int(r))] / total for r in sim.window])
    return lambda _: scores


def prepare_category_prior(sim: Simulation) -> Scorer:
    """The share of the reader's liked papers in each of the paper's categories (primary twice)."""
    window = [sim.papers[r].categories for r in sim.window]

    def score(reader: SimulatedReader) -> Scores:
        listed = Counter(c for r in reader.liked for c in sim.papers[r].categories)
        share = {c: n / len(reader.liked) for c, n in listed.items()}
        return np.array([(share.get(cs[0], 0.0) + sum(share.get(c, 0.0) for c in cs)) / (len(cs) + 1)
                         if cs else 0.0 for cs in window])  # fmt: skip

    return score


def prepare_tfidf_centroid(sim: Simulation) -> Scorer:
    """Cosine to the mean of the liked papers' tf-idf vectors (our model's text features)."""
    vectorizer = TfidfVectorizer(**TEXT_FEATURES)
    features: Any = sp.csr_matrix(
        vectorizer.fit_transform([paper_text(p.title, p.abstract) for p in sim.papers])
    )
    window = features[sim.window]

    def score(reader: SimulatedReader) -> Scores:
        centroid = np.asarray(features[reader.liked].sum(axis=0)).ravel()
        return np.asarray(window @ (centroid / (np.linalg.norm(centroid) + 1e-12)), np.float64)

    return score


def prepare_embedding_centroid(sim: Simulation) -> Scorer:
    """Cosine to the mean direction of the liked papers' MiniLM vectors (ours gets the same)."""
    if sim.vectors is None:
        raise ValueError("embedding-centroid needs the papers' embeddings (Simulation.vectors)")
    vectors = sim.vectors
    window = vectors[sim.window]

    def score(reader: SimulatedReader) -> Scores:
        mean = vectors[reader.liked].sum(axis=0)
        return np.asarray(window @ (mean / (np.linalg.norm(mean) + 1e-12)), np.float64)

    return score


def arxiv_sanity_features(sim: Simulation) -> Any:
    """arxiv-sanity-lite's compute.py tf-idf over the pool: title, abstract and the authors
    the methods see (none, unless the protocol is authorship)."""
    vectorizer = TfidfVectorizer(
        input="content", encoding="utf-8", decode_error="replace", strip_accents="unicode",
        lowercase=True, analyzer="word", stop_words="english",
        token_pattern=r"(?u)\b[a-zA-Z_][a-zA-Z0-9_]+\b", ngram_range=(1, 2), max_features=20000,
        norm="l2", use_idf=True, smooth_idf=True, sublinear_tf=True, max_df=0.1, min_df=5,
    )  # fmt: skip
    texts = [" ".join([p.title, p.abstract, " ".join(p.authors)]) for p in sim.papers]
    return sp.csr_matrix(vectorizer.fit_transform(texts))


def prepare_arxiv_sanity(sim: Simulation, c: float = ARXIV_SANITY_C) -> Scorer:
    """arxiv-sanity-lite's serve.py: per reader a LinearSVC over every paper of the pool,
    the liked ones positive, ranking the window by the decision function."""
    features = arxiv_sanity_features(sim)
    window = features[sim.window]
    # dual=True was LinearSVC's default when arxiv-sanity-lite was written; today's "auto"
    # picks the primal solver here: the same solution, several times slower.
    settings: dict[str, Any] = {"class_weight": "balanced", "verbose": 0, "max_iter": 10000,
                                "tol": 1e-6, "C": c, "dual": True}  # fmt: skip

    def score(reader: SimulatedReader) -> Scores:
        labels = np.zeros(features.shape[0], dtype=np.float32)
        labels[reader.liked] = 1.0
        svm = LinearSVC(**settings)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # liblinear's "did not converge" on some readers
            svm.fit(features, labels)
        return np.asarray(svm.decision_function(window), dtype=np.float64)

    return score


def prepare_by_name(sim: Simulation) -> Scorer:
    """1 for a paper whose visible authors include the reader's name: a leak detector, never a
    method. With authors masked it sees nothing and must score at chance."""
    window = [{normalise_name(a) for a in sim.papers[r].authors} for r in sim.window]
    return lambda reader: np.array([float(reader.name in names) for names in window])
