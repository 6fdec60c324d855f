"""Recommendations for one reader: a linear classifier learned for them, each with its reason.

A corpus (the candidate papers, plus any the eval wants scored) is turned
once into three feature sets: tf-idf of the text (title twice and abstract,
LaTeX commands dropped, word 1- and 2-grams), categories, and, when given,
the papers' embeddings (the search index's MiniLM vectors). Authors are not
features: a name is not a person (namesakes), and `eval recommend` hides
names from every method, so no weight on them could be measured.

Per reader, in the spirit of Scholar Inbox (a per-user linear classifier
over embeddings) and arxiv-sanity (a per-user SVM over tf-idf), a linear
classifier over both kinds of features and the categories is fitted with
the papers they liked (votes, saves, listed or pasted papers) as positives,
those they marked "not interested" as strong negatives, and a seeded sample
of the corpus's unlabelled papers as negatives: regularised least squares
(each side weighing the same in total), solved in its dual, so one reader
costs one linear system the size of their training papers. The categories
they follow are added:

    score = classifier + FOLLOWED * number of the paper's categories the reader follows
            (+ optional terms: cosine of words to the liked centroid, to the nearest liked
             papers, by words or meaning; weight 0 unless WEIGHTS says otherwise)

Every weight (the feature scales, C, the number of negatives, NEAREST) was
chosen on the validation cutoff 2025-12-01 of `paperroute eval recommend`
and reported at two later cutoffs (docs/recommendations.md). Fitting and
scoring one reader over the 54k papers of the shared corpus takes well under
50 ms, so it runs on a page request.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from threadpoolctl import ThreadpoolController

from paperroute.domain import Paper

__all__ = [
    "TEXT_FEATURES",
    "WEIGHTS",
    "Corpus",
    "Reader",
    "Recommendation",
    "Rows",
    "explain",
    "paper_text",
    "score_reader",
]

# Chosen on the validation cutoff (see the module's docstring).
WEIGHTS: dict[str, float] = {
    "text": 2.0,  # scale of the tf-idf features in the classifier
    "meaning": 0.5,  # scale of the embeddings
    "topics": 0.25,  # scale of the categories (each paper's row has unit length)
    "C": 0.1,  # inverse regularisation
    "negatives": 300,  # unlabelled papers sampled per reader
    "disliked": 3.0,  # sample weight of a "not interested" paper against an unlabelled one
    "nearest": 0.0,  # weight of the closeness to the nearest liked papers by meaning
    "centroid": 0.0,  # weight of the cosine of words to the liked papers' centroid
    "neighbours": 0.0,  # weight of the mean of the 2 highest cosines of words to liked papers
    "followed": 0.5,  # per followed category of the paper
}
NEAREST = 2
BACKGROUND = 5000  # the corpus rows negatives are drawn from, when not given
_LATEX_COMMAND = re.compile(r"\\[a-zA-Z]+\*?")
_LATEX_SYMBOL = re.compile(r"[$\{\}^_\\~]")

# scipy ships no type information for its sparse matrices: typed as Any, as faiss is.
Matrix = Any
Scores = npt.NDArray[np.float32]
Ids = npt.NDArray[np.int64]
Vectors = npt.NDArray[np.float32]  # one unit vector per row; a row of zeros: none known
TEXT_FEATURES: dict[str, Any] = {
    "strip_accents": "unicode", "lowercase": True, "stop_words": "english",
    "token_pattern": r"(?u)\b[a-zA-Z_][a-zA-Z0-9_]+\b", "ngram_range": (1, 2),
    "min_df": 2, "max_df": 0.5, "sublinear_tf": True, "dtype": np.float32,
}  # fmt: skip


def _clean(text: str) -> str:
    return " ".join(_LATEX_SYMBOL.sub(" ", _LATEX_COMMAND.sub(" ", text)).split())


def paper_text(title: str, abstract: str) -> str:
    """What the text features read: the title counts twice."""
    title = _clean(title)
    return f"{title} . {title} . {_clean(abstract)}"


def _incidence(rows: Sequence[Sequence[str]], index: dict[str, int], grow: bool) -> Matrix:
    """Which names each row has, each row of unit length; unknown names are added only if `grow`."""
    columns: list[int] = []
    data: list[float] = []
    starts = [0]
    for names in rows:
        known = [
            index.setdefault(n, len(index)) if grow else index.get(n) for n in dict.fromkeys(names)
        ]
        found = [c for c in known if c is not None]
        columns += found
        data += [1.0 / np.sqrt(max(1, len(found)))] * len(found)
        starts.append(len(columns))
    shape = (len(rows), max(len(index), 1))
    return sp.csr_matrix((np.array(data, dtype=np.float32), np.array(columns, dtype=np.int64),
                          np.array(starts)), shape=shape)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Rows:
    """Some papers as the model sees them: one row each in the feature matrices."""

    text: Matrix
    topics: Matrix
    vectors: Vectors | None = None
    # The text matrix transposed (term -> papers), for scoring many papers at once:
    # made once for a corpus's rows, not for every subset taken.
    by_term: Matrix = None

    def __len__(self) -> int:
        return int(self.text.shape[0])

    def take(self, rows: npt.ArrayLike) -> Rows:
        picked = np.asarray(rows, dtype=np.int64)
        vectors = None if self.vectors is None else self.vectors[picked]
        return Rows(self.text[picked], self.topics[picked], vectors)

    def indexed(self) -> Rows:
        """These rows with `by_term` made, for use as candidates many times."""
        return replace(self, by_term=sp.csr_matrix(self.text.T))


class Corpus:
    """The papers a reader's model scores, turned into features once.

    `vectors`, one row per paper, are their embeddings (unit length; zeros for
    a paper without one); without them the model uses the other features only.
    `background`: the rows unlabelled negatives are drawn from (default: a
    seeded sample of all).
    """

    def __init__(
        self,
        papers: Sequence[Paper],
        vectors: Vectors | None = None,
        background: Ids | None = None,
    ) -> None:
        self.vectorizer = TfidfVectorizer(**TEXT_FEATURES)
        texts = [paper_text(p.title, p.abstract) for p in papers]
        try:
            text = self.vectorizer.fit_transform(texts)
        except ValueError:  # too few papers for min_df: keep every word
            self.vectorizer.set_params(min_df=1, max_df=1.0)
            text = self.vectorizer.fit_transform(texts)
        self.vocabulary = self.vectorizer.get_feature_names_out()
        self.topic_index: dict[str, int] = {}
        topics = _incidence([p.categories for p in papers], self.topic_index, grow=True)
        self.rows = Rows(sp.csr_matrix(text), topics, _checked(vectors, len(papers))).indexed()
        if background is None:
            rng = np.random.default_rng(0)
            background = rng.choice(len(papers), min(BACKGROUND, len(papers)), replace=False)
        self.background = np.sort(np.asarray(background, dtype=np.int64))

    def with_vectors(self, vectors: Vectors) -> Corpus:
        """This corpus with other embeddings (the text features are not refitted)."""
        other = copy.copy(self)
        other.rows = replace(self.rows, vectors=_checked(vectors, len(self.rows)))
        return other

    def describe(self, papers: Sequence[Paper], vectors: Vectors | None = None) -> Rows:
        """Papers outside the corpus (a reader's older papers, a pasted BibTeX) as rows."""
        if papers:
            text = self.vectorizer.transform([paper_text(p.title, p.abstract) for p in papers])
        else:  # a reader who only follows categories: the vectorizer refuses zero rows
            text = sp.csr_matrix((0, len(self.vocabulary)), dtype=np.float64)
        topics = _incidence([p.categories for p in papers], self.topic_index, grow=False)
        return Rows(sp.csr_matrix(text), topics, _checked(vectors, len(papers)))


def _checked(vectors: Vectors | None, count: int) -> Vectors | None:
    if vectors is None:
        return None
    if len(vectors) != count:
        raise ValueError(f"{len(vectors)} vectors for {count} papers: give one row per paper")
    return np.ascontiguousarray(vectors, dtype=np.float32)


@dataclass(frozen=True, slots=True)
class Reader:
    """One reader: what they liked and disliked, as rows of a corpus's features."""

    liked: Rows
    disliked: Rows | None = None
    topics: tuple[str, ...] = ()  # categories the reader follows
    liked_rows: Ids | None = None  # corpus rows of the liked papers: never drawn as negatives
    seed: int = 0


@dataclass(frozen=True, slots=True)
class _Model:
    text: npt.NDArray[np.float32]  # a weight per term
    topics: npt.NDArray[np.float32]  # a weight per category
    vectors: npt.NDArray[np.float32] | None  # a weight per embedding dimension
    bias: float


@functools.cache
def _blas() -> ThreadpoolController:
    return ThreadpoolController()


def _one_blas_thread() -> Any:
    """One reader's products and solve on one thread: they are small, and BLAS's threads on a
    busy machine (or beside other requests) make them up to 10x slower."""
    return _blas().limit(limits=1, user_api="blas")


def _negatives(corpus: Corpus, reader: Reader) -> Ids:
    pool = corpus.background
    if reader.liked_rows is not None and len(reader.liked_rows):
        pool = np.setdiff1d(pool, reader.liked_rows, assume_unique=True)
    # At most a third of a small corpus: a negative's own score is pushed down, and on a
    # small site the candidates are most of the corpus.
    count = min(int(WEIGHTS["negatives"]), len(pool) // 3)
    return np.random.default_rng(reader.seed).choice(pool, count, replace=False)


def _with_followed(corpus: Corpus, reader: Reader) -> Rows:
    """The liked rows, and one row per followed category: a paper in it and nothing else."""
    followed = [(t,) for t in reader.topics if t in corpus.topic_index]
    liked = reader.liked
    if not followed:
        return liked
    topics = _incidence(followed, corpus.topic_index, grow=False)
    text = sp.csr_matrix((len(followed), liked.text.shape[1]), dtype=np.float32)
    vectors = None
    if liked.vectors is not None:
        vectors = np.zeros((len(followed), liked.vectors.shape[1]), dtype=np.float32)
    extra = Rows(text, topics, vectors)
    if not len(liked):
        return extra
    both = None if vectors is None or liked.vectors is None else np.vstack([liked.vectors, vectors])
    return Rows(sp.vstack([liked.text, text], format="csr"),
                sp.vstack([liked.topics, topics], format="csr"), both)  # fmt: skip


def fit_reader(corpus: Corpus, reader: Reader) -> _Model | None:
    """The reader's classifier, or None with nothing liked.

    Regularised least squares on labels +1 (liked) and -1 (the rest), each side
    weighing the same in total, solved in its dual: with a few hundred training
    papers that is one small linear system, where a solver over the half a million
    tf-idf columns would take seconds.
    """
    liked, disliked = _with_followed(corpus, reader), reader.disliked
    if not len(liked):
        return None
    negative = corpus.rows.take(_negatives(corpus, reader))
    blocks = [liked, negative] + ([disliked] if disliked is not None and len(disliked) else [])
    text = sp.vstack([b.text for b in blocks], format="csr")
    topics = sp.vstack([b.topics for b in blocks], format="csr")
    scale = {k: WEIGHTS[k] ** 2 for k in ("text", "topics", "meaning")}
    kernel = (
        scale["text"] * (text @ text.T).toarray() + scale["topics"] * (topics @ topics.T).toarray()
    )
    with_vectors = all(b.vectors is not None for b in blocks)
    vectors = (
        np.vstack([b.vectors for b in blocks if b.vectors is not None]) if with_vectors else None
    )
    if vectors is not None:
        kernel += scale["meaning"] * (vectors @ vectors.T)
    kernel += 1.0  # the bias, as a constant feature
    count, against = len(liked), len(negative)
    total = sum(len(b) for b in blocks)
    labels = np.r_[np.ones(count), -np.ones(total - count)]
    weight = np.r_[np.full(count, max(1.0, against / count)), np.ones(against),
                   np.full(total - count - against, WEIGHTS["disliked"])]  # fmt: skip
    alpha = np.linalg.solve(kernel + np.diag(1.0 / (WEIGHTS["C"] * weight)), labels)
    alpha = alpha.astype(np.float32)
    on_vectors = None if vectors is None else scale["meaning"] * (vectors.T @ alpha)
    return _Model(scale["text"] * np.asarray(text.T @ alpha, dtype=np.float32).ravel(),
                  scale["topics"] * np.asarray(topics.T @ alpha, dtype=np.float32).ravel(), on_vectors,
                  float(alpha.sum()))  # fmt: skip


def _nearest(liked: Vectors, candidates: Vectors) -> Scores:
    """Per candidate, the mean of its NEAREST highest cosines to liked papers' embeddings."""
    known = liked[np.flatnonzero(liked.any(axis=1))]
    if not len(known):
        return np.zeros(len(candidates), dtype=np.float32)
    similarity = known @ candidates.T
    k = min(NEAREST, len(known))
    return np.partition(similarity, len(known) - k, axis=0)[-k:].mean(axis=0)


def _by_words(liked: Rows, candidates: Rows) -> dict[str, Scores]:
    """Cosine of words to the liked papers' centroid, and the mean of the 2 highest to one."""
    by_term = (
        candidates.by_term if candidates.by_term is not None else sp.csr_matrix(candidates.text.T)
    )
    similarity = (liked.text @ by_term).toarray().astype(np.float32)
    length = float(np.linalg.norm(np.asarray(liked.text.sum(axis=0)).ravel())) + 1e-9
    k = min(NEAREST, similarity.shape[0])
    top = np.partition(similarity, similarity.shape[0] - k, axis=0)[-k:].mean(axis=0)
    # cos(paper, sum of liked) is the sum of its cosines to each liked paper over the sum's length.
    return {"centroid": WEIGHTS["centroid"] * similarity.sum(axis=0) / length,
            "neighbours": WEIGHTS["neighbours"] * top}  # fmt: skip


def _parts(corpus: Corpus, reader: Reader, candidates: Rows) -> dict[str, Scores]:
    with _one_blas_thread():
        return _parts_on_one_thread(corpus, reader, candidates)


def _parts_on_one_thread(corpus: Corpus, reader: Reader, candidates: Rows) -> dict[str, Scores]:
    parts: dict[str, Scores] = {}
    model = fit_reader(corpus, reader)
    if model is not None:
        found = candidates.text @ model.text + candidates.topics @ model.topics + model.bias
        if model.vectors is not None and candidates.vectors is not None:
            found = found + candidates.vectors @ model.vectors
        parts["classifier"] = np.asarray(found, dtype=np.float32).ravel()
        if WEIGHTS["centroid"] or WEIGHTS["neighbours"]:
            parts |= _by_words(reader.liked, candidates)
        if (
            WEIGHTS["nearest"]
            and reader.liked.vectors is not None
            and candidates.vectors is not None
        ):
            parts["nearest"] = WEIGHTS["nearest"] * _nearest(
                reader.liked.vectors, candidates.vectors
            )
    followed = [corpus.topic_index[t] for t in reader.topics if t in corpus.topic_index]
    if followed:
        counts = np.asarray((candidates.topics[:, followed] > 0).sum(axis=1)).ravel()
        parts["followed"] = WEIGHTS["followed"] * counts.astype(np.float32)
    return parts


def _total(parts: dict[str, Scores], count: int) -> Scores:
    total = np.zeros(count, dtype=np.float32)
    for values in parts.values():
        total += values
    return total


def score_reader(corpus: Corpus, reader: Reader, candidates: Rows) -> Scores:
    """Each candidate's score for this reader: higher is a better match."""
    return _total(_parts(corpus, reader, candidates), len(candidates))


@dataclass(frozen=True, slots=True)
class Recommendation:
    row: int  # the candidate's row
    score: float
    closest: int | None  # row in reader.liked of the liked paper it is nearest to
    closeness: float  # their cosine similarity (of words, plus of embeddings when known)
    terms: tuple[str, ...]  # the words that carry the match, strongest first
    followed: tuple[str, ...]  # its categories the reader follows


def explain(
    corpus: Corpus,
    reader: Reader,
    candidates: Rows,
    limit: int = 20,
    terms: int = 5,
    exclude: frozenset[int] = frozenset(),
) -> list[Recommendation]:
    """The best `limit` candidates (rows in `exclude` left out), each with why: its nearest
    liked paper, the words that match, the followed categories it is in."""
    parts = _parts(corpus, reader, candidates)
    total = _total(parts, len(candidates))
    ranked = np.argsort(-total, kind="stable")[: limit + len(exclude)]
    order = [int(r) for r in ranked if int(r) not in exclude][:limit]
    liked = reader.liked
    centroid = np.asarray(liked.text.sum(axis=0)).ravel() if len(liked) else None
    followed = set(reader.topics)
    categories = {column: name for name, column in corpus.topic_index.items()}
    out: list[Recommendation] = []
    for row in order:
        closest, closeness = None, 0.0
        if len(liked):
            near = np.asarray((liked.text @ candidates.text[row].T).todense()).ravel()
            if liked.vectors is not None and candidates.vectors is not None:
                near = near + liked.vectors @ candidates.vectors[row]  # by words and meaning
            closest = int(np.argmax(near))
            closeness = float(near[closest])
        words: tuple[str, ...] = ()
        if centroid is not None:
            vector = candidates.text[row]
            weight = vector.data * centroid[vector.indices]
            best = np.argsort(-weight)[:terms]
            words = tuple(str(corpus.vocabulary[vector.indices[i]]) for i in best if weight[i] > 0)
        mine = tuple(categories[int(c)] for c in candidates.topics[row].indices)
        shared = tuple(c for c in mine if c in followed)
        out.append(Recommendation(row, float(total[row]), closest, closeness, words, shared))
    return out
