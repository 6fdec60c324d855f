"""A reader's recommendations from what they voted for, saved, listed as theirs or follow.

The candidates are the papers of the last two weeks of announcements. Their
features (rank.recommend.Corpus, with the embeddings the search index stored
for them under the site's model) are built once per process and kept until a
paper is added to the window, so a page request only scores one reader.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from sqlalchemy import Connection

from paperroute.domain import Paper
from paperroute.rank.recommend import Corpus, Reader, Recommendation, Vectors, explain
from paperroute.store import papers as paper_store
from paperroute.store import votes as vote_store
from paperroute.store.embeddings import load_vector_rows
from paperroute.store.interests import liked_papers, list_interests

__all__ = [
    "CANDIDATE_DAYS",
    "CandidateCache",
    "ForYou",
    "Profile",
    "reader_profile",
    "recommend_for",
    "recommend_from",
]

CANDIDATE_DAYS = 14
MAX_CANDIDATES = 20_000
MAX_LIKED = 300  # the most recent ones: tastes move


@dataclass(frozen=True, slots=True)
class ForYou:
    paper_id: int
    paper: Paper
    score: float
    reason: str


@dataclass(frozen=True, slots=True)
class _Candidates:
    key: tuple[object, ...]
    ids: list[int]
    papers: list[Paper]
    corpus: Corpus
    missing: int  # candidates without a stored vector while others have one
    loaded_at: float  # time.monotonic() when the vectors were read


class CandidateCache:
    """The candidate window's features, rebuilt when the window or its papers change.

    `model`: the embedder whose stored vectors the features take in (None: none).
    A paper can arrive before the index has stored its vector: while some are
    missing, the vectors are read again every `recheck_vectors` seconds.
    """

    recheck_vectors = 60.0

    def __init__(self, model: str | None = None) -> None:
        self.model = model
        self._held: _Candidates | None = None
        self._lock = threading.Lock()

    def _vectors(self, conn: Connection, ids: list[int]) -> tuple[Vectors | None, int]:
        vectors = load_vector_rows(conn, self.model, ids) if self.model else None
        missing = 0 if vectors is None else int((~vectors.any(axis=1)).sum())
        return vectors, missing

    def get(self, conn: Connection) -> _Candidates | None:
        newest = paper_store.latest_announced(conn)
        if newest is None:
            return None
        since = newest - dt.timedelta(days=CANDIDATE_DAYS - 1)
        key = (since, newest, *paper_store.window_stamp(conn, since, newest))
        with self._lock:
            held, now = self._held, time.monotonic()
            if held is None or held.key != key:
                listing = paper_store.list_papers(conn, since=since, until=newest,
                                                  limit=MAX_CANDIDATES)  # fmt: skip
                vectors, missing = self._vectors(conn, listing.ids)
                corpus = Corpus(listing.papers, vectors)
                held = _Candidates(key, listing.ids, listing.papers, corpus, missing, now)
            elif held.missing and now - held.loaded_at >= self.recheck_vectors:
                vectors, missing = self._vectors(conn, held.ids)
                if vectors is not None and missing < held.missing:
                    held = replace(held, corpus=held.corpus.with_vectors(vectors))
                held = replace(held, missing=missing, loaded_at=now)
            self._held = held
            return held


def recommend_for(
    conn: Connection, user_id: int, cache: CandidateCache, *, limit: int = 30
) -> list[ForYou]:
    """The reader's best new papers, each with a one-line reason; [] with nothing to go on."""
    candidates = cache.get(conn)
    if candidates is None:
        return []
    return recommend_from(candidates.corpus, candidates.ids, candidates.papers,
                          reader_profile(conn, user_id, cache.model), limit)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Profile:
    """What a reader's model is made from."""

    liked: list[tuple[Paper, str]]  # (paper, how: "saved", "voted for", "listed as yours", ...)
    disliked: list[Paper]
    topics: tuple[str, ...]
    skip: set[int]  # papers not to recommend: liked or marked "not interested"
    vectors: Vectors | None = None  # the liked papers' embeddings, zeros where none is stored


def reader_profile(conn: Connection, user_id: int, model: str | None = None) -> Profile:
    """A reader's likes, dislikes and topics; with `model`, their liked papers' stored vectors."""
    liked = liked_papers(conn, user_id)
    interests = list_interests(conn, user_id)
    seeds = paper_store.ids_for_refs(conn, list(interests.paper_keys.values()))
    for paper_id in seeds.values():
        liked.setdefault(paper_id, "listed as yours")
    recent = sorted(liked, reverse=True)[:MAX_LIKED]
    loaded = paper_store.get_papers_by_ids(conn, recent)
    shown = [i for i in recent if i in loaded]
    why = [(loaded[i], liked[i]) for i in shown]
    # Pasted papers have no stored vector: they count through their words and authors.
    pasted = list(interests.texts.values())[-MAX_LIKED:]
    why += [(p, "your paper") for p in pasted]
    vectors = load_vector_rows(conn, model, shown) if model and shown else None
    if vectors is not None and pasted:
        vectors = np.vstack([vectors, np.zeros((len(pasted), vectors.shape[1]), np.float32)])
    disliked = vote_store.dismissed_ids(conn, user_id)
    against = list(paper_store.get_papers_by_ids(conn, sorted(disliked)[-MAX_LIKED:]).values())
    topics = tuple(interests.categories.values())
    return Profile(why, against, topics, set(liked) | disliked, vectors)


def recommend_from(
    corpus: Corpus,
    ids: Sequence[int],
    papers: Sequence[Paper],
    profile: Profile,
    limit: int,
) -> list[ForYou]:
    """Rank `papers` (the corpus's rows, with their ids) for the reader of `profile`."""
    liked, topics = profile.liked, profile.topics
    if not liked and not topics:
        return []
    disliked = corpus.describe(profile.disliked) if profile.disliked else None
    reader = Reader(corpus.describe([p for p, _ in liked], profile.vectors), disliked, topics)
    # All rows are scored (the corpus's term index serves them); skipped ones are left out after.
    skipped = frozenset(n for n, paper_id in enumerate(ids) if paper_id in profile.skip)
    found = explain(corpus, reader, corpus.rows, limit=limit, exclude=skipped)
    out: list[ForYou] = []
    for r in found:
        # Only what a reason can be given for: shared words or meaning, or a followed category.
        if r.closeness > 0 or r.followed:
            paper = papers[r.row]
            out.append(ForYou(ids[r.row], paper, r.score, _reason(r, liked, paper, topics)))
    return out


_BECAUSE = {"saved": "because you saved", "voted for": "because you voted for",
            "listed as yours": "close to your paper", "your paper": "close to your paper"}  # fmt: skip


def _reason(
    found: Recommendation, liked: Sequence[tuple[Paper, str]], paper: Paper, topics: tuple[str, ...]
) -> str:
    """One line: the liked paper it is nearest to, the words that match, followed categories.

    Authors are never named: a name on two papers need not be one person.
    """
    parts: list[str] = []
    if found.closest is not None and found.closeness > 0:
        near, how = liked[found.closest]
        title = near.title if len(near.title) <= 70 else near.title[:67] + "..."
        parts.append(f"{_BECAUSE.get(how, 'close to')} “{title}”")
    if found.terms:
        parts.append("words: " + ", ".join(found.terms[:4]))
    followed = found.followed or tuple(c for c in paper.categories if c in topics)
    if followed:
        parts.append(f"in {followed[0]}, which you follow")
    return " · ".join(parts) or "close to what you liked"
