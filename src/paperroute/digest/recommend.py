"""The "Recommended for you" section: rank.for_you over a digest's new papers."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection, Engine

from paperroute.digest.build import Recommender
from paperroute.digest.compose import Pool, Recommendation
from paperroute.domain import Paper
from paperroute.rank.for_you import reader_profile, recommend_from
from paperroute.rank.recommend import Corpus
from paperroute.store.embeddings import load_vector_rows
from paperroute.store.subscribers import Subscriber

__all__ = ["digest_recommender"]

T = TypeVar("T")

SECTION_SIZE = 10


def digest_recommender(
    engine: Engine, conn: Connection | None = None, model: str | None = None
) -> Recommender:
    """Recommendations for subscribers with an account; features built once per pool.

    Readers' likes are read on `conn` when given (a page's own connection),
    else on a connection of their own per subscriber. `model`: the embedder
    whose stored vectors the features take in, as on the site's for-you page.
    """
    held: dict[int, tuple[Pool, list[int], list[Paper], Corpus]] = {}

    def reading(read: Callable[[Connection], T]) -> T:
        if conn is not None:
            return read(conn)
        with engine.connect() as own:
            return read(own)

    def features(pool: Pool) -> tuple[list[int], list[Paper], Corpus]:
        found = held.get(id(pool))
        if found is None or found[0] is not pool:  # a pool lives as long as its run
            papers = [c.paper for c in pool.by_id.values()]
            ids = list(pool.by_id)
            vectors = None
            if model is not None:
                known = model
                vectors = reading(lambda c: load_vector_rows(c, known, ids))
            found = (pool, ids, papers, Corpus(papers, vectors))
            held[id(pool)] = found
        return found[1], found[2], found[3]

    def recommend(subscriber: Subscriber, pool: Pool) -> list[Recommendation]:
        if subscriber.user_id is None or not pool.by_id:
            return []
        ids, papers, corpus = features(pool)
        user_id = subscriber.user_id
        profile = reading(lambda c: reader_profile(c, user_id, model))
        found = recommend_from(corpus, ids, papers, profile, SECTION_SIZE)
        return [Recommendation(f.paper_id, f.reason) for f in found]

    return recommend
